"""The image recipes' own probe leaves out the labels-per-class budgets a small training set cannot fill."""

import numpy as np

from hf_replearn.evaluation.probe import ProbeConfig
from hf_replearn.evaluation.probe import fillable_budgets


def test_budgets_larger_than_the_smallest_class_are_left_out_and_said(capsys):
    ev = ProbeConfig(labels_per_class=[1, 10, 100], seeds=2)
    labels = np.array([0] * 15 + [1] * 40 + [2] * 200)
    fitted = fillable_budgets(ev, labels)
    assert fitted.labels_per_class == [1, 10] and fitted.seeds == 2 and ev.labels_per_class == [1, 10, 100]
    assert "100 labels per class left out: the smallest training class has 15 examples" in capsys.readouterr().out
    assert fillable_budgets(ev, np.repeat([0, 1], 100)) is ev  # every budget fits: the recipe's own config
