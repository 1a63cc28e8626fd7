"""A Trainer callback that runs few-shot tasks during pretraining.

Every ``every_n_steps`` optimizer steps (and at the end of training) it evaluates the model being trained
on each task for each k, appends ``{"step": s, "fewshot/<task>/k=<k>/<metric>": value, ...}`` to
``state.log_history`` (so it lands in ``trainer_state.json`` with the losses) and to ``self.history``.
Documents are loaded once; the demonstration draws are seeded, so the curve over steps compares the same
prompts at every point.
"""

from __future__ import annotations

import numpy as np
from transformers import TrainerCallback

from hf_replearn.evaluation.fast_inference import fast_inference
from hf_replearn.evaluation.fewshot.evaluate import evaluate_task
from hf_replearn.evaluation.fewshot.task import FewShotTask, load_docs


class FewShotCallback(TrainerCallback):
    def __init__(self, tasks: list[FewShotTask], tokenizer, shots=(0, 8), seeds: int = 1,
                 every_n_steps: int = 100, batch_size: int = 8):
        self.tasks, self.tokenizer, self.shots, self.seeds = tasks, tokenizer, list(shots), seeds
        self.every_n_steps, self.batch_size = every_n_steps, batch_size
        self.docs = {t.task: load_docs(t) for t in tasks}
        self.history: list[dict] = []
        self._last_step = -1

    def _run(self, state, model):
        if state.global_step == self._last_step:
            return
        self._last_step = state.global_step
        was_training = model.training
        model.eval()
        row = {"step": state.global_step}
        with fast_inference(model):
            for task in self.tasks:
                for k in self.shots:
                    runs = [evaluate_task(model, self.tokenizer, task, k, s, self.batch_size, docs=self.docs[task.task])
                            for s in range(self.seeds if k else 1)]
                    for metric in task.metrics:
                        row[f"fewshot/{task.task}/k={k}/{metric}"] = float(np.mean([r[metric] for r in runs]))
        model.train(was_training)
        self.history.append(row)
        state.log_history.append(row)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self._run(state, model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._run(state, model)
