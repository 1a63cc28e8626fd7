"""SQuAD v2.0 scores (0-100), as the official ``evaluate-v2.0.py`` reports them.

Rajpurkar, Jia and Liang, "Know What You Don't Know: Unanswerable Questions for SQuAD", ACL 2018.
An unanswerable question has no gold text (``answers.text == []``); an empty ``prediction_text`` means
"no answer". A prediction whose ``no_answer_probability`` exceeds ``no_answer_threshold`` (a
``compute`` keyword, default 1.0: never) is replaced by "no answer".

Inputs:
    predictions: ``[{"id": str, "prediction_text": str, "no_answer_probability": float}, ...]``
    references: ``[{"id": str, "answers": {"text": [str, ...], "answer_start": [int, ...]}}, ...]``
Returns: ``exact``, ``f1``, ``total``; the same with ``HasAns_`` and ``NoAns_`` prefixes for the
answerable and unanswerable questions; ``best_exact``, ``best_exact_thresh``, ``best_f1``,
``best_f1_thresh`` for the best no-answer threshold.
"""

import datasets
import evaluate

from hf_replearn.evaluation.squad_scoring import squad_v2_scores


class SquadV2(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__,
            citation="Rajpurkar et al., SQuAD 2.0, ACL 2018 (arXiv:1806.03822)",
            inputs_description=__doc__,
            features=datasets.Features(
                {
                    "predictions": {
                        "id": datasets.Value("string"),
                        "prediction_text": datasets.Value("string"),
                        "no_answer_probability": datasets.Value("float32"),
                    },
                    "references": {
                        "id": datasets.Value("string"),
                        "answers": {
                            "text": datasets.Sequence(datasets.Value("string")),
                            "answer_start": datasets.Sequence(datasets.Value("int32")),
                        },
                    },
                }
            ),
        )

    def _compute(self, predictions, references, no_answer_threshold: float = 1.0):
        preds = {p["id"]: p["prediction_text"] for p in predictions}
        na_probs = {p["id"]: float(p["no_answer_probability"]) for p in predictions}
        golds = {r["id"]: list(r["answers"]["text"]) for r in references}
        return squad_v2_scores(preds, golds, na_probs, no_answer_threshold)
