"""The project's own ``evaluate`` metric modules, loaded from their folders (no hub access needed).

Each metric is a folder ``<name>/<name>.py`` holding an ``evaluate.Metric`` subclass, so that
``evaluate.load(<folder>, config)`` works offline (the ``evaluate`` wheel ships no metric scripts).
"""

from __future__ import annotations

from pathlib import Path

from hf_replearn.errors import UserError

METRICS_DIR = Path(__file__).resolve().parent
GLUE_CONFIGS = (
    "cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "mnli_matched", "mnli_mismatched", "qnli", "rte", "wnli", "hans",
    "classification",  # a user's own labelled texts (the glue recipe's data.task=text_classification)
)  # fmt: skip
_CONFIGS = {"glue": GLUE_CONFIGS, "squad": (None,), "squad_v2": (None,)}


def metric_names() -> list[str]:
    return sorted(_CONFIGS)


def load_metric(name: str, config: str | None = None, **kwargs):
    """``evaluate.load`` one of this project's metrics: ``load_metric("glue", "mrpc")``, ``load_metric("squad")``.

    Extra keyword arguments go to ``evaluate.load`` (``experiment_id``, ``num_process``, ...).
    """
    import evaluate

    if name not in _CONFIGS:
        raise UserError(f"unknown metric {name!r}; this project ships {', '.join(metric_names())}")
    if config not in _CONFIGS[name]:
        if _CONFIGS[name] == (None,):
            raise UserError(f"metric {name!r} takes no configuration, got {config!r}; call load_metric({name!r})")
        raise UserError(
            f"metric {name!r} needs the GLUE task as configuration, got {config!r}; "
            f"pass one of {', '.join(_CONFIGS[name])}, e.g. load_metric('glue', 'mrpc')"
        )
    return evaluate.load(str(METRICS_DIR / name), config, **kwargs)
