"""The project's GLUE / SQuAD metric modules against scikit-learn, scipy and hand-computed cases."""

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from hf_replearn.errors import UserError
from hf_replearn.evaluation import load_metric
from hf_replearn.evaluation.metrics import GLUE_CONFIGS
from hf_replearn.evaluation.squad_scoring import f1, normalize_answer

rng = np.random.default_rng(0)
PRED = rng.integers(0, 2, 50)
GOLD = np.where(rng.random(50) < 0.7, PRED, 1 - PRED)  # about 70 % agreement
PRED3, GOLD3 = rng.integers(0, 3, 40), rng.integers(0, 3, 40)


@pytest.mark.parametrize("task", GLUE_CONFIGS)
def test_every_glue_metric_matches_sklearn_and_scipy(task):
    metric = load_metric("glue", task)
    if task == "stsb":
        p, g = rng.random(30) * 5, rng.random(30) * 5
        out = metric.compute(predictions=p, references=g)
        assert out["pearson"] == pytest.approx(pearsonr(p, g)[0], abs=1e-12)
        assert out["spearmanr"] == pytest.approx(spearmanr(p, g)[0], abs=1e-12)
        return
    p, g = (PRED3, GOLD3) if task.startswith("mnli") or task == "classification" else (PRED, GOLD)
    out = metric.compute(predictions=p, references=g)
    if task == "cola":
        assert out == {"matthews_correlation": pytest.approx(matthews_corrcoef(g, p))}
    elif task in ("mrpc", "qqp"):
        assert out == {"accuracy": pytest.approx(accuracy_score(g, p)), "f1": pytest.approx(f1_score(g, p))}
    elif task == "classification":
        assert out == {"accuracy": pytest.approx(accuracy_score(g, p)), "f1_macro": pytest.approx(f1_score(g, p, average="macro"))}
    else:
        assert out == {"accuracy": pytest.approx(accuracy_score(g, p))}


def test_glue_metric_hand_values():
    out = load_metric("glue", "mrpc").compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])
    assert out == {"accuracy": 0.75, "f1": pytest.approx(2 / 3)}
    # per class F1: 1, 2/3 (precision 1, recall 1/2), 2/3 (precision 1/2, recall 1)
    out = load_metric("glue", "classification").compute(predictions=[0, 1, 2, 2], references=[0, 1, 1, 2])
    assert out == {"accuracy": 0.75, "f1_macro": pytest.approx(7 / 9)}


def test_load_metric_rejects_unknown_names_and_configs():
    with pytest.raises(UserError, match="pass one of cola"):
        load_metric("glue", "sst5")
    with pytest.raises(UserError, match="needs the GLUE task"):
        load_metric("glue")
    with pytest.raises(UserError, match="ships glue, squad, squad_v2"):
        load_metric("bleu")


def test_squad_normalisation():
    assert normalize_answer("  The  Cat's, an apple!") == "cats apple"
    assert normalize_answer("A") == ""
    assert normalize_answer("Theatre") == "theatre"  # "the" only as a whole word


def _refs(golds):
    return [{"id": str(i), "answers": {"text": g, "answer_start": [0] * len(g)}} for i, g in enumerate(golds)]


def test_squad_em_f1_hand_cases():
    preds = ["the cat sat", "a dog", "blue whale", "nothing here"]
    golds = [["Cat sat."], ["the big dog", "dog"], ["whale shark"], ["x"]]
    # per question EM: 1, 1 (max over gold "dog"), 0, 0; F1: 1, 1, 2*(1/2*1/2)/(1) = 0.5, 0
    out = load_metric("squad").compute(
        predictions=[{"id": str(i), "prediction_text": p} for i, p in enumerate(preds)], references=_refs(golds)
    )
    assert out == {"exact_match": pytest.approx(50.0), "f1": pytest.approx(62.5)}
    # precision 1/3, recall 1/2 -> F1 = 0.4
    assert f1("one two three", "three four") == pytest.approx(0.4)
    assert f1("", "cat") == 0.0 and f1("", "", v2=True) == 1.0 and f1("", "") == 0.0


def test_squad_v2_has_ans_no_ans_and_threshold():
    golds = [["Paris"], [], ["in 1999"], []]
    preds = [("paris", 0.1), ("", 0.8), ("1999", 0.3), ("London", 0.6)]
    predictions = [
        {"id": str(i), "prediction_text": t, "no_answer_probability": pr} for i, (t, pr) in enumerate(preds)
    ]
    metric = load_metric("squad_v2")
    out = metric.compute(predictions=predictions, references=_refs(golds))
    # EM: 1, 1, 0, 0; F1: 1, 1, 2*(1*1/2)/(1.5)=2/3, 0
    assert out["exact"] == pytest.approx(50.0) and out["f1"] == pytest.approx(100 * (2 + 2 / 3) / 4)
    assert (out["HasAns_exact"], out["HasAns_f1"], out["HasAns_total"]) == (50.0, pytest.approx(100 * 5 / 6), 2)
    assert (out["NoAns_exact"], out["NoAns_f1"], out["NoAns_total"]) == (50.0, 50.0, 2)
    # Thresholding at 0.5 turns "London" (p=0.6) into a correct "no answer".
    assert metric.compute(predictions=predictions, references=_refs(golds), no_answer_threshold=0.5)["exact"] == 75.0
    assert out["best_exact"] == pytest.approx(75.0) and out["best_exact_thresh"] == pytest.approx(0.1)
