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

from hf_replearn.evaluation.fewshot.evaluate import evaluate_grid, evaluate_task, load_model
from hf_replearn.evaluation.fewshot.export import export_lm_eval
from hf_replearn.evaluation.fewshot.task import FewShotTask, load_task

__all__ = ["FewShotTask", "evaluate_grid", "evaluate_task", "export_lm_eval", "load_model", "load_task"]
