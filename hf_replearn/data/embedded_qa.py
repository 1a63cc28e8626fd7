"""Extractive QA in SQuAD format from WordNet usage examples (``wordnet-base``; DATA.md).

For a synset with a usage example that contains one of its words, the question is
``Which word means <definition>?`` and the answer is that word's character span in the passage. The
passage is the usage example plus ``extra_sentences`` usage examples of other synsets, in a shuffled
order, so that the model has to find the right sentence. For SQuAD v2 (``unanswerable_fraction > 0``),
that fraction of the questions gets a passage made only of other synsets' examples that contain none of
the synset's words: an unanswerable item (``answers = {text: [], answer_start: []}``).

The items are real text (WordNet's lexicographers wrote the glosses and examples) in a synthetic
arrangement; they test span extraction, not reading comprehension of long documents. Splits are fixed
(10 % validation, seeded).
"""

from __future__ import annotations

import random

from hf_replearn.data.wordnet import read_synsets

SPLIT_SEED = 1234


def _is_boundary(text: str, i: int) -> bool:
    return i < 0 or i >= len(text) or not (text[i].isalnum() or text[i] in "-_'")


def _find_word(words: list[str], sentence: str) -> tuple[str, int] | None:
    """The first whole-word, case-insensitive occurrence of one of ``words`` (longest word first)."""
    lower = sentence.lower()
    for word in sorted(words, key=len, reverse=True):  # prefer "perk up" over "perk"
        target, start = word.lower(), lower.find(word.lower())
        while start >= 0:
            end = start + len(target)
            if _is_boundary(lower, start - 1) and _is_boundary(lower, end):
                return sentence[start:end], start
            start = lower.find(target, start + 1)
    return None


def build_wordnet_qa(extra_sentences: int = 2, unanswerable_fraction: float = 0.0, seed: int = SPLIT_SEED,
                     synsets=None) -> list[dict]:  # fmt: skip
    rng = random.Random(seed)
    synsets = synsets if synsets is not None else read_synsets()
    pool = [e for s in synsets for e in s.examples]
    close = lambda sentence: sentence if sentence.endswith((".", "!", "?")) else sentence + "."  # noqa: E731
    items = []
    for s in synsets:
        found = next(((e, hit) for e in s.examples if (hit := _find_word(s.words, e))), None)
        if found is None or not s.definition:
            continue
        example, (answer, start) = found
        unanswerable = rng.random() < unanswerable_fraction
        others = []
        while len(others) < extra_sentences + unanswerable and len(pool) > 1:
            candidate = rng.choice(pool)
            if candidate != example and _find_word(s.words, candidate) is None:
                others.append(candidate)
        if unanswerable:
            sentences, answers = [close(x) for x in others], {"text": [], "answer_start": []}
        else:
            position = rng.randrange(len(others) + 1)
            sentences = [close(x) for x in others[:position] + [example] + others[position:]]
            offset = sum(len(x) + 1 for x in sentences[:position])  # sentences are joined by one space
            answers = {"text": [answer], "answer_start": [offset + start]}
        items.append({"id": s.offset, "title": s.lexname, "question": f"Which word means {s.definition}?",
                      "context": " ".join(sentences), "answers": answers})  # fmt: skip
    return items


def load_wordnet_qa(version_2_with_negative: bool = False, extra_sentences: int = 2, unanswerable_fraction: float = 1 / 3):
    """A ``DatasetDict`` with ``train`` and ``validation``; v2 mixes in unanswerable items."""
    from datasets import Dataset, DatasetDict

    items = build_wordnet_qa(extra_sentences, unanswerable_fraction if version_2_with_negative else 0.0)
    random.Random(SPLIT_SEED).shuffle(items)
    n_val = max(1, len(items) // 10)
    return DatasetDict({"train": Dataset.from_list(items[n_val:]), "validation": Dataset.from_list(items[:n_val])})
