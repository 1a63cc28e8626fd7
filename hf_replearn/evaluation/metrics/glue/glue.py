"""GLUE metrics, the task as the configuration: ``evaluate.load(<this folder>, "mrpc")``.

Wang et al., "GLUE: A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding"
(2018). Each task has its official metric(s), on a 0-1 scale as the GLUE leaderboard's scorer reports
them before it multiplies by 100:

- cola: Matthews correlation;
- sst2, mnli, mnli_matched, mnli_mismatched, qnli, rte, wnli, hans: accuracy;
- mrpc, qqp: accuracy and F1 of the positive class (label 1);
- stsb: Pearson and Spearman correlation (predictions are real-valued scores);
- classification (a user's own labelled texts, any number of classes): accuracy and macro-averaged F1.

Inputs: ``predictions`` and ``references`` as integer class ids (float scores for stsb).
"""

import datasets
import evaluate
import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

_METRICS = {
    "cola": ("matthews_correlation",),
    "sst2": ("accuracy",),
    "mnli": ("accuracy",),
    "mnli_matched": ("accuracy",),
    "mnli_mismatched": ("accuracy",),
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
    "hans": ("accuracy",),
    "mrpc": ("accuracy", "f1"),
    "qqp": ("accuracy", "f1"),
    "stsb": ("pearson", "spearmanr"),
    "classification": ("accuracy", "f1_macro"),
}

_SCORERS = {
    "accuracy": lambda p, r: float(accuracy_score(r, p)),
    "f1": lambda p, r: float(f1_score(r, p)),
    "f1_macro": lambda p, r: float(f1_score(r, p, average="macro")),
    "matthews_correlation": lambda p, r: float(matthews_corrcoef(r, p)),
    "pearson": lambda p, r: float(pearsonr(p, r)[0]),
    "spearmanr": lambda p, r: float(spearmanr(p, r)[0]),
}

_INPUTS = """
Args:
    predictions: predicted class ids (int), or scores (float) for stsb.
    references: gold class ids (int), or gold scores (float) for stsb.
Returns: a dict with the task's metrics (see the module docstring), each in [0, 1] ([-1, 1] for
    correlations).
"""


@evaluate.utils.file_utils.add_start_docstrings(__doc__, _INPUTS)
class Glue(evaluate.Metric):
    def _info(self):
        if self.config_name not in _METRICS:
            raise KeyError(
                f"unknown GLUE task {self.config_name!r} as metric configuration; "
                f"pass one of {', '.join(sorted(_METRICS))}"
            )
        dtype = "float64" if self.config_name == "stsb" else "int64"
        return evaluate.MetricInfo(
            description=__doc__,
            citation="Wang et al., GLUE, ICLR 2019 (arXiv:1804.07461)",
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value(dtype), "references": datasets.Value(dtype)}),
        )

    def _compute(self, predictions, references):
        # Lists, not the "numpy" format: datasets' numpy formatter hands float64 columns back as float32.
        predictions, references = np.asarray(predictions), np.asarray(references)
        return {name: _SCORERS[name](predictions, references) for name in _METRICS[self.config_name]}
