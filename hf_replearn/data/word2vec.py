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
- Negatives: K ids per pair drawn from the unigram distribution to the power ``ns_exponent`` (3/4),
  through word2vec.c's unigram table (a word fills a share of the table equal to its probability).

:class:`SkipGramBatches` makes whole batches: item i is every pair of the i-th slice of the corpus
(slices cut at text boundaries, about ``batch_pairs`` pairs each) with its negatives, drawn afresh each
epoch as word2vec.c and gensim do. A batch is built with a few numpy calls over the slice; going through
the DataLoader one pair at a time cost more than the training step itself.
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


def window_pairs(ids: np.ndarray, sentence: np.ndarray, reach: np.ndarray, window: int):
    """(centre, context) ids of a flat token stream: ``sentence[i]`` is token i's text, ``reach[i]`` its window.

    Order: by offset 1, 2, ... window; within an offset, the pairs whose context is to the right come
    first, then those to the left.
    """
    centres, contexts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for d in range(1, min(window, len(ids) - 1) + 1):
        same = sentence[:-d] == sentence[d:]
        right = same & (reach[:-d] >= d)  # centre i, context i + d
        left = same & (reach[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    return np.concatenate(centres), np.concatenate(contexts)


def skipgram_pairs(
    sentences: list[list[int]], window: int, dynamic_window: bool = True, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(centre, context) id arrays for all pairs within ``window`` in the same sentence (vectorised).

    ``rng`` draws the dynamic windows; the order is :func:`window_pairs`'.
    """
    if window < 1:
        raise UserError(f"model.window must be >= 1, got {window}")
    rng = rng or np.random.default_rng(0)
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences]) if len(sentences) else np.zeros(0, np.int64)
    sentence = np.repeat(np.arange(len(sentences)), lengths)  # which text each token belongs to
    reach = rng.integers(1, window + 1, size=len(ids)) if dynamic_window else np.full(len(ids), window)
    return window_pairs(ids, sentence, reach, window)


class NegativeSampler:
    """Noise ids from P(w) proportional to count(w)^exponent, through word2vec.c's unigram table.

    Word w owns about P(w) * ``table_size`` consecutive slots (at least one); a draw is a uniform slot.
    """

    def __init__(self, counts: np.ndarray, exponent: float = 0.75, seed: int = 0, table_size: int = 10_000_000):
        weights = np.asarray(counts, dtype=np.float64) ** exponent
        self.probabilities = weights / weights.sum()
        size = max(table_size, len(weights))
        slots = np.diff(np.round(np.cumsum(self.probabilities) * size), prepend=0).astype(np.int64)
        self.table = np.repeat(np.arange(len(weights), dtype=np.int32), np.maximum(slots, 1))
        self.rng = np.random.default_rng(seed)

    def __call__(self, shape, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.table[(rng or self.rng).integers(0, len(self.table), shape)].astype(np.int64)


class SkipGramBatches:
    """A map-style dataset whose item i is one batch: the pairs of corpus slice i and K negatives each.

    ``ids`` is the encoded corpus as one stream and ``sentence`` the text of each token; slices end at
    text boundaries and hold about ``batch_pairs`` expected pairs. Subsampling, windows and negatives
    of item i in epoch e come from the generator seeded by (seed, e, i), so a run can be reproduced and
    every epoch sees a fresh draw (the Trainer calls :meth:`set_epoch`). Train with one item per step
    and :func:`first_item` as the collator.
    """

    def __init__(self, ids: np.ndarray, sentence: np.ndarray, keep: np.ndarray, sampler: NegativeSampler,
                 window: int, negative: int, batch_pairs: int, dynamic_window: bool = True, seed: int = 0):
        if window < 1 or negative < 1 or batch_pairs < 1:
            raise UserError(f"model.window, model.negative and the batch size must be >= 1, got {window}, "
                            f"{negative}, {batch_pairs}")
        self.ids, self.sentence, self.keep = ids, sentence, keep
        self.sampler, self.window, self.negative = sampler, window, negative
        self.dynamic_window, self.seed, self.epoch = dynamic_window, seed, 0
        # expected pairs per kept token away from text edges: 2 E[reach] = window + 1 (dynamic) or 2 window
        per_token = (window + 1) if dynamic_window else 2 * window
        expected = np.cumsum(keep[ids]) * per_token
        self.expected_pairs = float(expected[-1]) if len(ids) else 0.0
        n = max(1, int(round(self.expected_pairs / batch_pairs)))
        starts = np.flatnonzero(np.diff(sentence, prepend=-1))  # first token of each text
        targets = np.searchsorted(expected, np.arange(1, n) * self.expected_pairs / n)
        cuts = starts[np.minimum(np.searchsorted(starts, targets), len(starts) - 1)] if len(starts) else []
        self.bounds = np.unique(np.concatenate([[0], cuts, [len(ids)]]).astype(np.int64))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        import torch

        rng = np.random.default_rng([self.seed, self.epoch, i])
        a, b = self.bounds[i], self.bounds[i + 1]
        ids = self.ids[a:b]
        kept = rng.random(len(ids)) < self.keep[ids]
        ids, sentence = ids[kept], self.sentence[a:b][kept]
        reach = rng.integers(1, self.window + 1, len(ids)) if self.dynamic_window else np.full(len(ids), self.window)
        centres, contexts = window_pairs(ids, sentence, reach, self.window)
        return {"center_ids": torch.from_numpy(centres), "context_ids": torch.from_numpy(contexts),
                "negative_ids": torch.from_numpy(self.sampler((len(centres), self.negative), rng))}


def first_item(features: list[dict]) -> dict:
    """Collator for datasets whose items are whole batches (the DataLoader's batch size is 1)."""
    return features[0]


def build_skipgram_batches(
    texts: Iterable[str], min_count: int, window: int, sample: float, negative: int, batch_pairs: int,
    dynamic_window: bool = True, max_vocab: int | None = None, lowercase: bool = True, ns_exponent: float = 0.75,
    seed: int = 0,
) -> tuple[Vocabulary, SkipGramBatches]:
    """Texts -> (vocabulary, SkipGramBatches over the encoded corpus)."""
    sentences = [split_words(t, lowercase) for t in texts]
    vocab = Vocabulary.build(sentences, min_count, max_vocab)
    encoded = [vocab.encode(words) for words in sentences]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    if (lengths >= 2).sum() == 0:
        raise UserError("the corpus gives no skip-gram pairs (texts of one kept word); add text or lower data.min_count")
    ids = np.fromiter((i for e in encoded for i in e), dtype=np.int64, count=int(lengths.sum()))
    sentence = np.repeat(np.arange(len(encoded)), lengths)
    sampler = NegativeSampler(vocab.counts, ns_exponent, seed)
    batches = SkipGramBatches(ids, sentence, keep_probabilities(vocab.counts, sample), sampler, window, negative,
                              batch_pairs, dynamic_window, seed)
    return vocab, batches
