"""Skip-gram training data (Mikolov et al. 2013a, 2013b): vocabulary, subsampling, pairs, negatives.

- Vocabulary: words seen at least ``min_count`` times, most frequent first (id 0 = most frequent).
- Subsampling of frequent words, in word2vec.c's form (which gensim copies): a word of corpus frequency
  f = count / total is kept with probability  min(1, (sqrt(f / t) + 1) * t / f)  for threshold t
  (``sample``); the paper's  1 - sqrt(t / f)  discard rule is its approximation.
- Pairs: every (centre, context) with context within ``window`` words of the centre in the same text,
  after subsampling. With ``dynamic_window`` each centre's window is drawn uniformly from 1..window,
  as in word2vec.c, so nearer words are paired more often. "the quick brown fox", window 2, fixed:
  (the, quick) (the, brown) (quick, the) (quick, brown) (quick, fox) (brown, the) (brown, quick)
  (brown, fox) (fox, quick) (fox, brown).
- Negatives: K ids per pair drawn from the unigram distribution to the power ``ns_exponent`` (3/4).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import numpy as np

from hf_replearn.errors import UserError

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|\d+")


def split_words(text: str, lowercase: bool = True) -> list[str]:
    """Words as letters (with inner apostrophes) or digit runs; punctuation is dropped."""
    return _WORD.findall(text.lower() if lowercase else text)


class Vocabulary:
    def __init__(self, words: list[str], counts: np.ndarray):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 5, max_size: int | None = None) -> "Vocabulary":
        counter = Counter(w for s in sentences for w in s)
        # most frequent first; ties by word so the ids do not depend on the reading order
        kept = sorted(((c, w) for w, c in counter.items() if c >= min_count), key=lambda cw: (-cw[0], cw[1]))
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            raise UserError(
                f"no word occurs at least min_count={min_count} times ({len(counter)} distinct words in the "
                "corpus); lower data.min_count or add text"
            )
        return cls([w for _, w in kept], np.array([c for c, _ in kept]))

    def encode(self, words: list[str]) -> list[int]:
        return [self.index[w] for w in words if w in self.index]


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c's subsampling: P(keep w) = min(1, (sqrt(f/t) + 1) * t / f), f = count / total."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    f = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(f / sample) + 1.0) * sample / f)


def skipgram_pairs(
    sentences: list[list[int]], window: int, dynamic_window: bool = True, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(centre, context) id arrays for all pairs within ``window`` in the same sentence (vectorised).

    Order: by offset 1, 2, ... window; within an offset, the pairs whose context is to the right come
    first, then those to the left. ``rng`` draws the dynamic windows.
    """
    if window < 1:
        raise UserError(f"model.window must be >= 1, got {window}")
    rng = rng or np.random.default_rng(0)
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences]) if len(sentences) else np.zeros(0, np.int64)
    sentence = np.repeat(np.arange(len(sentences)), lengths)  # which text each token belongs to
    reach = rng.integers(1, window + 1, size=len(ids)) if dynamic_window else np.full(len(ids), window)
    centres, contexts = [], []
    for d in range(1, window + 1):
        same = sentence[:-d] == sentence[d:] if len(ids) > d else np.zeros(0, bool)
        right = same & (reach[:-d] >= d)  # centre i, context i + d
        left = same & (reach[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    return np.concatenate(centres), np.concatenate(contexts)


class NegativeSampler:
    """Draw noise ids from P(w) proportional to count(w)^exponent, with its own seeded generator."""

    def __init__(self, counts: np.ndarray, exponent: float = 0.75, seed: int = 0):
        weights = np.asarray(counts, dtype=np.float64) ** exponent
        self.probabilities = weights / weights.sum()
        self._cdf = np.cumsum(self.probabilities)
        self.rng = np.random.default_rng(seed)

    def __call__(self, shape) -> np.ndarray:
        draws = np.searchsorted(self._cdf, self.rng.random(shape) * self._cdf[-1], side="right")
        return np.minimum(draws, len(self._cdf) - 1)


class SkipGramPairs:
    """A map-style dataset of pairs with ``__getitems__``, so the DataLoader fetches a batch at once."""

    def __init__(self, centers: np.ndarray, contexts: np.ndarray):
        self.centers, self.contexts = centers, contexts

    def __len__(self) -> int:
        return len(self.centers)

    def __getitem__(self, i):
        return {"center_ids": int(self.centers[i]), "context_ids": int(self.contexts[i])}

    def __getitems__(self, indices):
        idx = np.asarray(indices)
        return {"center_ids": self.centers[idx], "context_ids": self.contexts[idx]}


class SkipGramCollator:
    """Batch of pairs -> tensors plus K negatives per pair from the noise distribution."""

    def __init__(self, sampler: NegativeSampler, negative: int):
        self.sampler, self.negative = sampler, negative

    def __call__(self, batch) -> dict:
        import torch

        if not isinstance(batch, dict):  # a list of single pairs
            batch = {k: np.array([b[k] for b in batch]) for k in ("center_ids", "context_ids")}
        n = len(batch["center_ids"])
        return {
            "center_ids": torch.as_tensor(batch["center_ids"], dtype=torch.long),
            "context_ids": torch.as_tensor(batch["context_ids"], dtype=torch.long),
            "negative_ids": torch.as_tensor(self.sampler((n, self.negative)), dtype=torch.long),
        }


def build_skipgram_data(
    texts: Iterable[str], min_count: int, window: int, sample: float, dynamic_window: bool = True,
    max_vocab: int | None = None, lowercase: bool = True, seed: int = 0,
):
    """Texts -> (vocabulary, SkipGramPairs): one subsampling draw and one window draw, seeded."""
    sentences = [split_words(t, lowercase) for t in texts]
    vocab = Vocabulary.build(sentences, min_count, max_vocab)
    rng = np.random.default_rng(seed)
    keep = keep_probabilities(vocab.counts, sample)
    encoded = []
    for words in sentences:
        ids = np.asarray(vocab.encode(words), dtype=np.int64)
        encoded.append(ids[rng.random(len(ids)) < keep[ids]])
    centers, contexts = skipgram_pairs(encoded, window, dynamic_window, rng)
    if len(centers) == 0:
        raise UserError("the corpus gives no skip-gram pairs (texts of one kept word); add text or lower data.min_count")
    return vocab, SkipGramPairs(centers, contexts)
