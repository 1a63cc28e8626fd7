"""The labelled subset of semi-supervised fine-tuning: stratified, seeded, the probe's own subset."""

import numpy as np

from hf_replearn.evaluation.probe import fraction_subset
from hf_replearn.tasks.finetune_images import labelled_subset


def test_the_subset_is_class_balanced_seeded_and_the_probes():
    labels = np.repeat(np.arange(10), 600)[np.random.default_rng(1).permutation(6000)]
    idx = labelled_subset(labels, 0.01, seed=3)
    assert np.bincount(labels[idx]).tolist() == [6] * 10  # equal classes: the same count from each
    assert np.array_equal(idx, labelled_subset(labels, 0.01, seed=3))  # same seed, same indices
    assert np.array_equal(idx, fraction_subset(labels, 0.01, seed=3))  # the probe's label_fractions subset
    assert not np.array_equal(idx, labelled_subset(labels, 0.01, seed=4))
    assert len(np.unique(idx)) == len(idx) == 60
    assert np.array_equal(labelled_subset(labels, 1.0, seed=0), np.arange(6000))


def test_unequal_classes_keep_their_proportions_and_at_least_one_each():
    labels = np.array([0] * 200 + [1] * 100 + [2] * 3)
    idx = labelled_subset(labels, 0.1, seed=0)
    assert np.bincount(labels[idx]).tolist() == [20, 10, 1]
