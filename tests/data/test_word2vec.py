"""Skip-gram data: pairs against the hand-written example, subsampling formula, noise distribution."""

from collections import Counter

import numpy as np
import pytest

from hf_replearn.data.word2vec import (NegativeSampler, SkipGramCollator, SkipGramPairs, Vocabulary,
                                       build_skipgram_data, keep_probabilities, skipgram_pairs, split_words)
from hf_replearn.errors import UserError

WORDS = ["the", "quick", "brown", "fox"]


def test_quick_brown_fox_pairs_by_hand():
    centres, contexts = skipgram_pairs([[0, 1, 2, 3]], window=2, dynamic_window=False)
    got = Counter((WORDS[c], WORDS[o]) for c, o in zip(centres, contexts))
    expected = Counter([("the", "quick"), ("the", "brown"),
                        ("quick", "the"), ("quick", "brown"), ("quick", "fox"),
                        ("brown", "the"), ("brown", "quick"), ("brown", "fox"),
                        ("fox", "quick"), ("fox", "brown")])
    assert got == expected


def test_pairs_never_cross_texts_and_dynamic_window_shrinks():
    centres, contexts = skipgram_pairs([[0, 1], [2, 3]], window=3, dynamic_window=False)
    assert sorted(zip(centres.tolist(), contexts.tolist())) == [(0, 1), (1, 0), (2, 3), (3, 2)]
    sentence = list(range(50))
    full = skipgram_pairs([sentence], window=4, dynamic_window=False)
    dyn = skipgram_pairs([sentence], window=4, dynamic_window=True, rng=np.random.default_rng(0))
    distance = np.abs(dyn[0] - dyn[1])
    assert len(dyn[0]) < len(full[0]) and distance.max() <= 4
    assert (np.bincount(distance)[1:] >= np.bincount(distance)[2:].tolist() + [0]).all()  # nearer: more often
    assert np.bincount(distance)[1] == 2 * 49  # every neighbour at distance 1 is always paired


def test_keep_probability_is_word2vec_c_formula():
    counts = np.array([900, 90, 9, 1])
    keep = keep_probabilities(counts, sample=0.01)
    f = counts / 1000
    assert np.allclose(keep[:2], (np.sqrt(f[:2] / 0.01) + 1) * 0.01 / f[:2])
    assert keep[0] == pytest.approx((np.sqrt(90) + 1) / 90)
    assert (keep[2:] == 1).all() and (keep_probabilities(counts, 0) == 1).all()


def test_negatives_follow_unigram_to_three_quarters():
    counts = np.array([1000, 100, 10, 1])
    draws = NegativeSampler(counts, 0.75, seed=0)((200_000,))
    expected = counts**0.75 / (counts**0.75).sum()
    assert np.allclose(np.bincount(draws, minlength=4) / 200_000, expected, atol=0.004)


def test_vocabulary_order_and_min_count():
    vocab = Vocabulary.build([split_words("The cat, the dog; the cat's toy!")], min_count=2)
    assert vocab.words == ["the"] and vocab.counts.tolist() == [3]
    with pytest.raises(UserError, match="min_count=9"):
        Vocabulary.build([["a", "b"]], min_count=9)


def test_collator_batches_through_getitems():
    pairs = SkipGramPairs(np.array([0, 1, 2]), np.array([1, 2, 0]))
    batch = SkipGramCollator(NegativeSampler(np.ones(3), seed=0), negative=4)(pairs.__getitems__([2, 0]))
    assert batch["center_ids"].tolist() == [2, 0] and batch["negative_ids"].shape == (2, 4)


def test_build_is_seeded():
    texts = ["the quick brown fox jumps over the lazy dog"] * 30
    a = build_skipgram_data(texts, min_count=1, window=3, sample=1e-2, seed=1)[1]
    b = build_skipgram_data(texts, min_count=1, window=3, sample=1e-2, seed=1)[1]
    assert np.array_equal(a.centers, b.centers) and np.array_equal(a.contexts, b.contexts)
