import math

import pytest

from hf_replearn.evaluation.fewshot.metrics import exact_match, f1, multiple_choice_metrics


def test_acc_acc_norm_and_mutual_info_pick_different_choices():
    # raw: "yes" wins; per character: "absolutely" (-5/10) beats "yes" (-2/3); minus unconditional: "no"
    lls = [-2.0, -5.0, -3.0]
    choices = ["yes", "absolutely", "no"]
    got = multiple_choice_metrics(lls, gold=1, choices=choices, lls_uncond=[-1.0, -4.5, -6.0])
    assert got == {"acc": 0.0, "acc_norm": 1.0, "acc_mutual_info": 0.0}
    assert multiple_choice_metrics(lls, 2, choices, [-1.0, -4.5, -6.0])["acc_mutual_info"] == 1.0


def test_exact_match_and_f1():
    assert exact_match(" Paris ", "Paris") == 1.0 and exact_match("paris", "Paris") == 0.0
    assert f1("the cat sat", "a cat sat down") == pytest.approx(2 * (1.0 * 2 / 3) / (1.0 + 2 / 3))
    assert f1("", "") == 1.0 and f1("dog", "cat") == 0.0 and not math.isnan(f1("", "cat"))
