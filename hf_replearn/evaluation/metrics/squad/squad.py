"""SQuAD v1.1 exact match and F1 (0-100), as the official ``evaluate-v1.1.py`` computes them.

Rajpurkar et al., "SQuAD: 100,000+ Questions for Machine Comprehension of Text", EMNLP 2016.
Answers are normalised (lower case, no punctuation, no articles a/an/the, single spaces) and each
prediction takes the maximum over its gold answers; see :mod:`hf_replearn.evaluation.squad_scoring`.

Inputs (the official format):
    predictions: ``[{"id": str, "prediction_text": str}, ...]``
    references: ``[{"id": str, "answers": {"text": [str, ...], "answer_start": [int, ...]}}, ...]``
Returns: ``{"exact_match": float, "f1": float}``.
"""

import datasets
import evaluate

from hf_replearn.evaluation.squad_scoring import squad_v1_scores


class Squad(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__,
            citation="Rajpurkar et al., SQuAD, EMNLP 2016 (arXiv:1606.05250)",
            inputs_description=__doc__,
            features=datasets.Features(
                {
                    "predictions": {"id": datasets.Value("string"), "prediction_text": datasets.Value("string")},
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

    def _compute(self, predictions, references):
        preds = {p["id"]: p["prediction_text"] for p in predictions}
        golds = {r["id"]: list(r["answers"]["text"]) for r in references}
        return squad_v1_scores(preds, golds)
