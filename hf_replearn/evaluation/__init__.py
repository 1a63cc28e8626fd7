"""Evaluation: metrics (GLUE, SQuAD) and post-processing of model outputs."""

from hf_replearn.evaluation.metrics import load_metric

__all__ = ["load_metric"]
