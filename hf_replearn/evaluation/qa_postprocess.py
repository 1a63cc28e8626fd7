"""From start / end logits over windows back to answer strings: n-best spans and the v2 null answer.

For each example, every window ("feature") proposes spans (s, e) from its ``n_best_size`` highest start
and end logits, kept when both tokens lie in the context, s <= e and e - s + 1 <= ``max_answer_length``;
a span scores ``start_logits[s] + end_logits[e]`` (Devlin et al., 2019, sec. 4.2). The best span over all
windows is the answer.

SQuAD v2 (sec. 4.3 of the BERT paper): the null answer scores ``s_null = start_logits[cls] +
end_logits[cls]``, taken as the minimum over the example's windows; the answer is empty when
``s_null - s_best > null_score_diff_threshold``. ``no_answer_probability`` is
``sigmoid(s_null - s_best)``, a monotone score the squad_v2 metric can sweep for its best threshold.
"""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class QAPrediction:
    text: str
    no_answer_probability: float
    score: float
    """Score of the best non-null span (``-inf`` when no window held a valid span)."""
    null_score: float
    nbest: list[dict]
    """Up to ``n_best_size`` candidates ``{text, start, end, score}``, best first (character offsets)."""


def postprocess_qa_predictions(
    examples,
    features,
    start_logits,
    end_logits,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    version_2_with_negative: bool = False,
    null_score_diff_threshold: float = 0.0,
    cls_index: int = 0,
) -> dict[str, QAPrediction]:
    """Map logits of shape ``(num_features, seq_len)`` to a prediction per example id.

    ``examples`` need ``id`` and ``context``; ``features`` need ``example_id`` and ``offset_mapping``
    (``None`` for tokens outside the context), as :func:`hf_replearn.data.squad.prepare_eval_features`
    makes them, in the same order as the logits.
    """
    start_logits, end_logits = np.asarray(start_logits), np.asarray(end_logits)
    if start_logits.shape != end_logits.shape or start_logits.shape[0] != len(features):
        raise ValueError(
            f"start_logits {start_logits.shape} and end_logits {end_logits.shape} must both have one row per "
            f"feature ({len(features)})"
        )
    by_example = collections.defaultdict(list)
    for i, example_id in enumerate(features["example_id"]):
        by_example[example_id].append(i)
    offsets_all = features["offset_mapping"]

    out = {}
    for example in examples:
        context = example["context"]
        candidates, null_score = [], math.inf
        for i in by_example.get(example["id"], []):
            starts, ends, offsets = start_logits[i], end_logits[i], offsets_all[i]
            null_score = min(null_score, float(starts[cls_index] + ends[cls_index]))
            top_s = np.argsort(starts)[::-1][:n_best_size]
            top_e = np.argsort(ends)[::-1][:n_best_size]
            for s in top_s:
                for e in top_e:
                    if s >= len(offsets) or e >= len(offsets) or offsets[s] is None or offsets[e] is None:
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    char_start, char_end = offsets[s][0], offsets[e][1]
                    candidates.append(
                        {"text": context[char_start:char_end], "start": int(char_start), "end": int(char_end),
                         "score": float(starts[s] + ends[e])}
                    )  # fmt: skip
        candidates.sort(key=lambda c: c["score"], reverse=True)
        nbest = candidates[:n_best_size]
        best = nbest[0] if nbest else {"text": "", "score": -math.inf}
        if not version_2_with_negative:
            out[example["id"]] = QAPrediction(best["text"], 0.0, best["score"], null_score, nbest)
            continue
        diff = null_score - best["score"]
        text = "" if diff > null_score_diff_threshold else best["text"]
        prob = 1.0 / (1.0 + math.exp(-diff)) if math.isfinite(diff) else float(diff > 0)
        out[example["id"]] = QAPrediction(text, prob, best["score"], null_score, nbest)
    return out


def to_metric_inputs(predictions: dict[str, QAPrediction], examples, version_2_with_negative: bool = False):
    """``(predictions, references)`` in the format of the squad / squad_v2 metrics."""
    preds = []
    for example_id, p in predictions.items():
        item = {"id": example_id, "prediction_text": p.text}
        if version_2_with_negative:
            item["no_answer_probability"] = p.no_answer_probability
        preds.append(item)
    refs = [
        {"id": ex["id"], "answers": {"text": list(ex["answers"]["text"]),
                                     "answer_start": list(ex["answers"]["answer_start"])}}
        for ex in examples
    ]  # fmt: skip
    return preds, refs
