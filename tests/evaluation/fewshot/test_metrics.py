import math

import pytest

from hf_replearn.evaluation.fewshot.metrics import exact_match, f1, multiple_choice_metrics


def test_acc_acc_norm_and_mutual_info_pick_different_choices():
    # raw: "yes" wins; per character: "absolutely" (-5/10) beats "yes" (-2/3); minus unconditional: "no"
    lls = [-2.0, -5.0, -3.0]
    choices = ["yes", "absolutely", "no"]
    got = multiple_choice_metrics(lls, gold=1, choices=choices, lls_uncond=[-1.0, -4.5, -6.0])
    assert got == {"acc": 0.0, "acc_norm": 1.0, "acc_bytes": 1.0, "acc_mutual_info": 0.0}
    assert multiple_choice_metrics(lls, [1, 0], choices)["acc"] == 1.0  # several golds: any counts
    assert multiple_choice_metrics(lls, 2, choices, [-1.0, -4.5, -6.0])["acc_mutual_info"] == 1.0


def test_exact_match_and_f1():
    assert exact_match(" Paris ", "Paris") == 1.0 and exact_match("paris", "Paris") == 0.0
    assert f1("the cat sat", "a cat sat down") == pytest.approx(2 * (1.0 * 2 / 3) / (1.0 + 2 / 3))
    assert f1("", "") == 1.0 and f1("dog", "cat") == 0.0 and not math.isnan(f1("", "cat"))


def test_lm_eval_exact_match_options_and_aggregations():
    from hf_replearn.evaluation.fewshot.metrics import aggregate, exact_match_lm_eval, mean_stderr

    assert exact_match_lm_eval(" Paris", "Paris") == 0.0  # lm-eval does not strip
    assert exact_match_lm_eval("PARIS!", "paris", ignore_case=True, ignore_punctuation=True) == 1.0
    assert exact_match_lm_eval("answer: 42", "42", regexes_to_ignore=["answer: "]) == 1.0
    assert mean_stderr([1, 0, 1, 0]) == pytest.approx(math.sqrt(1 / 3) / 2) and mean_stderr([1]) == "N/A"
    assert aggregate([(1, 1), (0, 1), (1, 1), (0, 0)], "f1") == pytest.approx(0.8)
    assert aggregate([("the cat sat on the mat", "the cat sat on the mat")], "bleu") == pytest.approx(100.0)
