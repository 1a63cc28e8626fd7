"""N-best span post-processing on hand-made windows with known logits."""

import math

import pytest
from datasets import Dataset

from hf_replearn.evaluation.qa_postprocess import postprocess_qa_predictions, to_metric_inputs

CONTEXT = "Paris is the capital of France."
#          0    5  8   12      20 23    29
# Two windows of one example; token offsets (None = not context, e.g. [CLS] and question tokens).
OFFSETS = [
    [None, None, (0, 5), (6, 8), (9, 12), (13, 20), None],
    [None, None, (13, 20), (21, 23), (24, 30), (30, 31), None],
]


def _features():
    return Dataset.from_dict({"example_id": ["q1", "q1"], "offset_mapping": OFFSETS})


def _examples(answer=("Paris",)):
    return Dataset.from_dict(
        {"id": ["q1"], "context": [CONTEXT], "answers": [{"text": list(answer), "answer_start": [0] * len(answer)}]}
    )


def _logits(start_hot, end_hot, cls=0.0):
    start = [[cls, 0, 0, 0, 0, 0, 0], [cls, 0, 0, 0, 0, 0, 0]]
    end = [[cls, 0, 0, 0, 0, 0, 0], [cls, 0, 0, 0, 0, 0, 0]]
    for (w, t), v in start_hot.items():
        start[w][t] = v
    for (w, t), v in end_hot.items():
        end[w][t] = v
    return start, end


def test_best_span_across_windows():
    # Window 1 proposes "France" (3 + 4 = 7); window 0 proposes "Paris" (5 + 5 = 10): Paris wins.
    # The question token (index 1) has the highest logit of all but is not context, so it is never chosen.
    start, end = _logits({(0, 2): 5, (1, 4): 3, (0, 1): 50}, {(0, 2): 5, (1, 4): 4, (1, 1): 50})
    preds = postprocess_qa_predictions(_examples(), _features(), start, end, n_best_size=3)
    p = preds["q1"]
    assert p.text == "Paris" and p.score == 10.0
    assert p.nbest[0] == {"text": "Paris", "start": 0, "end": 5, "score": 10.0}
    assert any(c["text"] == "France" and c["score"] == 7.0 for c in p.nbest)


def test_max_answer_length_and_order():
    # The best pair spans "Paris is the capital" (4 tokens); with max_answer_length=2 it is dropped,
    # and an inverted pair (end before start) never counts.
    start, end = _logits({(0, 2): 6, (0, 4): 1}, {(0, 5): 6, (0, 4): 1})
    assert postprocess_qa_predictions(_examples(), _features(), start, end)["q1"].text == "Paris is the capital"
    short = postprocess_qa_predictions(_examples(), _features(), start, end, max_answer_length=2)["q1"]
    assert short.text == "the capital" and short.score == 7.0  # (4, 5): 1 + 6


def test_v2_null_answer_and_threshold():
    # Best span "Paris" scores 2 + 2 = 4; the null score is min over windows of cls start + end = 3 + 3 = 6.
    start, end = _logits({(0, 2): 2}, {(0, 2): 2}, cls=3.0)
    p = postprocess_qa_predictions(_examples([]), _features(), start, end, version_2_with_negative=True)["q1"]
    assert p.text == "" and p.null_score == 6.0
    assert p.no_answer_probability == pytest.approx(1 / (1 + math.exp(-2.0)))
    # A threshold above s_null - s_best = 2 keeps the span.
    kept = postprocess_qa_predictions(
        _examples([]), _features(), start, end, version_2_with_negative=True, null_score_diff_threshold=2.5
    )["q1"]
    assert kept.text == "Paris"
    preds, refs = to_metric_inputs({"q1": p}, _examples([]), version_2_with_negative=True)
    assert preds == [{"id": "q1", "prediction_text": "", "no_answer_probability": p.no_answer_probability}]
    assert refs == [{"id": "q1", "answers": {"text": [], "answer_start": []}}]
