"""Evaluation of representations: probes, metrics (GLUE, SQuAD), QA post-processing, plots."""

from hf_replearn.evaluation.metrics import load_metric

__all__ = ["load_metric"]
