"""Evaluation of representations: probes, metrics, plots."""
