"""Answer normalisation and EM / F1 as the official SQuAD evaluation scripts define them.

Rajpurkar et al., "SQuAD: 100,000+ Questions for Machine Comprehension of Text" (2016), and
"Know What You Don't Know: Unanswerable Questions for SQuAD" (2018). Both official scripts
(``evaluate-v1.1.py``, ``evaluate-v2.0.py``) normalise an answer by lower-casing, dropping ASCII
punctuation, dropping the articles a / an / the, and collapsing whitespace; a prediction scores the
maximum over the gold answers. The two versions differ only where an answer is empty:

- v1.1 F1 is 0 when prediction and gold share no token (an empty prediction scores 0);
- v2.0 F1 is ``1`` when both are empty and ``0`` when only one is, and a question whose gold answers all
  normalise to empty is unanswerable (its gold set is ``[""]``).

The metric modules under ``metrics/squad`` and ``metrics/squad_v2`` wrap these functions; this module has
no dependency beyond the standard library so that it can be tested directly.
"""

from __future__ import annotations

import collections
import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation, drop articles, collapse whitespace (the official order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str, v2: bool = False) -> float:
    """Token-level F1 between normalised answers: 2PR / (P + R) over the multiset of shared tokens."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if v2 and (not pred_tokens or not gold_tokens):
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def max_over_gold(score_fn, prediction: str, golds: list[str]) -> float:
    return max(score_fn(prediction, gold) for gold in golds)


def squad_v1_scores(predictions: dict[str, str], golds: dict[str, list[str]]) -> dict[str, float]:
    """EM and F1 (0-100) over the questions in ``golds``; a question without a prediction scores 0."""
    em = f = 0.0
    for qid, answers in golds.items():
        if qid not in predictions:
            continue
        em += max_over_gold(exact_match, predictions[qid], answers)
        f += max_over_gold(f1, predictions[qid], answers)
    n = max(len(golds), 1)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f / n}


def squad_v2_scores(
    predictions: dict[str, str],
    golds: dict[str, list[str]],
    no_answer_probability: dict[str, float],
    no_answer_threshold: float = 1.0,
) -> dict[str, float]:
    """The official v2.0 report: exact / f1 / total, HasAns_ and NoAns_ splits, best_* over thresholds.

    A prediction whose ``no_answer_probability`` exceeds ``no_answer_threshold`` counts as "no answer"
    (scores 1 on unanswerable questions, 0 on answerable ones). ``best_exact`` / ``best_f1`` sweep the
    threshold over the predicted probabilities and report the best score and the threshold reaching it.
    """
    gold_sets = {}
    for qid, answers in golds.items():
        kept = [a for a in answers if normalize_answer(a)]
        gold_sets[qid] = kept or [""]
    raw_exact, raw_f1 = {}, {}
    for qid, answers in gold_sets.items():
        if qid not in predictions:
            continue
        raw_exact[qid] = max_over_gold(exact_match, predictions[qid], answers)
        raw_f1[qid] = max_over_gold(lambda p, g: f1(p, g, v2=True), predictions[qid], answers)
    has_ans = {qid: answers != [""] for qid, answers in gold_sets.items()}
    exact = _apply_threshold(raw_exact, no_answer_probability, has_ans, no_answer_threshold)
    f1s = _apply_threshold(raw_f1, no_answer_probability, has_ans, no_answer_threshold)

    out = _summary(exact, f1s, list(gold_sets))
    for prefix, keep in (("HasAns_", True), ("NoAns_", False)):
        qids = [q for q in gold_sets if has_ans[q] is keep]
        if qids:
            out.update({prefix + k: v for k, v in _summary(exact, f1s, qids).items()})
    best_exact, best_exact_thresh = _best_threshold(raw_exact, no_answer_probability, has_ans, predictions)
    best_f1, best_f1_thresh = _best_threshold(raw_f1, no_answer_probability, has_ans, predictions)
    out.update(
        best_exact=best_exact, best_exact_thresh=best_exact_thresh, best_f1=best_f1, best_f1_thresh=best_f1_thresh
    )
    return out


def _apply_threshold(scores, na_probs, has_ans, threshold):
    return {
        qid: float(not has_ans[qid]) if na_probs.get(qid, 0.0) > threshold else score
        for qid, score in scores.items()
    }


def _summary(exact, f1s, qids):
    n = max(len(qids), 1)
    return {
        "exact": 100.0 * sum(exact.get(q, 0.0) for q in qids) / n,
        "f1": 100.0 * sum(f1s.get(q, 0.0) for q in qids) / n,
        "total": len(qids),
    }


def _best_threshold(scores, na_probs, has_ans, predictions):
    """Sweep the no-answer threshold as the official script's ``find_best_thresh`` does."""
    # Start from "answer nothing": every unanswerable question right, every answerable one wrong.
    current = best = float(sum(1 for v in has_ans.values() if not v))
    best_thresh = 0.0
    for qid in sorted(na_probs, key=lambda q: na_probs[q]):
        if qid not in scores:
            continue
        if has_ans[qid]:
            diff = scores[qid]
        elif predictions[qid]:
            diff = -1.0
        else:
            diff = 0.0
        current += diff
        if current > best:
            best, best_thresh = current, na_probs[qid]
    return 100.0 * best / max(len(scores), 1), best_thresh
