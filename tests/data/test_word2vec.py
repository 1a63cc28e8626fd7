"""Skip-gram data: pairs against the hand-written example, subsampling formula, noise distribution."""

from collections import Counter

import numpy as np
import pytest

from hf_replearn.data.word2vec import (NegativeSampler, SkipGramBatches, Vocabulary, build_skipgram_batches,
                                       first_item, keep_probabilities, skipgram_pairs, split_words, window_pairs)
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


def naive_pairs(sentences, reach):
    """The definition, one centre at a time: every context within the centre's own reach in its text."""
    pairs, t = [], 0
    for sentence in sentences:
        for i, centre in enumerate(sentence):
            for j, context in enumerate(sentence):
                if j != i and abs(j - i) <= reach[t + i]:
                    pairs.append((centre, context))
        t += len(sentence)
    return Counter(pairs)


def test_window_pairs_match_naive_loop():
    rng = np.random.default_rng(3)
    sentences = [list(rng.integers(0, 9, n)) for n in (1, 2, 7, 12, 3)]
    ids = np.concatenate(sentences)
    sentence = np.repeat(np.arange(5), [len(s) for s in sentences])
    reach = rng.integers(1, 4, len(ids))
    centres, contexts = window_pairs(ids, sentence, reach, window=3)
    assert Counter(zip(centres.tolist(), contexts.tolist())) == naive_pairs(sentences, reach)


def batches_for(texts, sample=0.0, dynamic_window=False, batch_pairs=8, seed=0):
    return build_skipgram_batches(texts, min_count=1, window=2, sample=sample, negative=3, batch_pairs=batch_pairs,
                                  dynamic_window=dynamic_window, seed=seed)


def test_batches_cover_every_pair_once_without_subsampling():
    texts = ["a b c d e", "b c", "e d c b a f", "f a"]
    vocab, batches = batches_for(texts)
    assert len(batches) > 1 and batches.bounds[0] == 0 and batches.bounds[-1] == len(batches.ids)
    got = Counter()
    for i in range(len(batches)):
        item = first_item([batches[i]])
        assert item["negative_ids"].shape == (len(item["center_ids"]), 3)
        got += Counter(zip(item["center_ids"].tolist(), item["context_ids"].tolist()))
    encoded = [vocab.encode(split_words(t)) for t in texts]
    centres, contexts = skipgram_pairs(encoded, window=2, dynamic_window=False)
    assert got == Counter(zip(centres.tolist(), contexts.tolist()))  # slices end at text boundaries


def test_subsampling_keeps_words_at_the_formula_rate():
    # "a" fills 91% of the corpus; "b" (9%) is always kept at t=0.05, so each "a b" text gives the pair
    # (b, a) exactly when its "a" is kept
    texts = ["a b"] * 200 + ["a"] * 1800
    vocab, batches = batches_for(texts, sample=0.05, batch_pairs=10**9)
    keep = keep_probabilities(vocab.counts, 0.05)
    f = 2000 / 2200
    assert keep[0] == pytest.approx((np.sqrt(f / 0.05) + 1) * 0.05 / f) and keep[1] == 1
    kept = 0
    for epoch in range(10):
        batches.set_epoch(epoch)
        kept += int((batches[0]["center_ids"] == 1).sum())
    assert kept / 2000 == pytest.approx(keep[0], abs=0.04)  # binomial sd 0.01


def test_batches_are_seeded_and_redrawn_each_epoch():
    texts = ["the quick brown fox jumps over the lazy dog"] * 30
    a, b = batches_for(texts, 1e-2, True, seed=1)[1], batches_for(texts, 1e-2, True, seed=1)[1]
    assert all(torch_equal(a[i], b[i]) for i in range(len(a)))
    first = a[0]
    a.set_epoch(1)
    assert not torch_equal(first, a[0])


def torch_equal(x, y):
    return all(x[k].tolist() == y[k].tolist() for k in ("center_ids", "context_ids", "negative_ids"))


def test_bad_sizes_are_user_errors():
    with pytest.raises(UserError, match="model.window"):
        SkipGramBatches(np.zeros(3, np.int64), np.zeros(3, np.int64), np.ones(1), NegativeSampler(np.ones(1)), 0, 5, 8)
    with pytest.raises(UserError, match="no skip-gram pairs"):
        batches_for(["a", "b"])
