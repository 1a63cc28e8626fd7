"""Few-shot prompt evaluation in the GPT-3 style, with lm-evaluation-harness task files.

- :mod:`.taskfile`: reading lm-eval 0.4 task files (``include``, ``!function``); :mod:`.keys`: which keys run;
- :mod:`.task`: the task (lm-eval keys), templates, dataset loading; :mod:`.export`: export to lm-eval;
- :mod:`.prompts`: lm-eval's samplers and this evaluator's per-document one, prompt assembly;
- :mod:`.filters`: lm-eval's response filters; :mod:`.groups`: group files;
- :mod:`.lmeval_output`: results and per-item samples in lm-eval's layout;
- :mod:`.scoring`: log-likelihood of choices with the shared prompt encoded once; greedy generation;
- :mod:`.metrics`: acc, acc_norm, acc_mutual_info, exact_match, f1;
- :mod:`.evaluate`: one (k, seed) or a grid of k x seeds; :mod:`.cli`: ``hf-replearn fewshot``.
"""

import importlib

# Imported on first use, so that building the CLI's parser (which imports .cli) does not import torch:
# the CLI sets its thread policy before torch starts its OpenMP runtime.
_EXPORTS = {"evaluate_grid": "evaluate", "evaluate_task": "evaluate", "load_model": "evaluate",
            "FewShotTask": "task", "export_lm_eval": "export", "load_task": "task"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
