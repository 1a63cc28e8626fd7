"""One task lifecycle: train with the project's Trainer, collect the train metrics, save the weights.

Every task runs ``model, results = train_and_save(recipe, trainer, model, save=...)`` and then adds its own
evaluation to ``results``, so every ``results.json`` opens with the same keys (:data:`TRAIN_KEYS`):

- ``train/loss``: mean training loss over the run's steps (Trainer's ``training_loss`` for a run not resumed);
- ``train/runtime_s``, ``train/steps``, ``train/samples_per_second`` (over every process), ``train/processes``
  (a step's global batch is processes x per-device batch x accumulation; samples per second are every
  step's global batch over the runtime), ``train/cpu_s`` (this process's CPU time, every thread: on a machine
  shared with other jobs, the figure that does not depend on them). A run resumed from a checkpoint counts the whole run: the training
  time and loss of earlier attempts up to that checkpoint (kept by
  :class:`~hf_replearn.training.callbacks.RunTotals`) plus this attempt's;
- ``model/total_params``, ``model/trainable_params`` (counted before a LoRA merge folds ``B A`` away);
- ``train/first_logged_loss``, ``train/last_logged_loss`` when the Trainer logged a loss: they show that
  the loss fell.

The trainer must be a :class:`~hf_replearn.training.trainer.ReplearnTrainer` (atomic checkpoints, resume).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

TRAIN_KEYS = ("train/loss", "train/runtime_s", "train/steps", "train/samples_per_second",
              "model/total_params", "model/trainable_params")  # fmt: skip
"""Keys every task's results.json holds, before the task's own metrics."""


def train_metrics(trainer, train_output, model) -> dict:
    """The :data:`TRAIN_KEYS` (and the logged loss range) of a finished ``trainer.train()``."""
    from hf_replearn.training.callbacks import run_totals
    from hf_replearn.training.lora import count_parameters
    from hf_replearn.training.trainer import logged_loss_range

    trainable, total = count_parameters(model)
    totals = run_totals(trainer)
    runtime = float(train_output.metrics["train_runtime"]) + (totals.earlier_s if totals is not None else 0.0)
    global_batch = trainer.state.train_batch_size * trainer.args.gradient_accumulation_steps * trainer.args.world_size
    loss = float(train_output.training_loss)
    if totals is not None and totals.earlier_loss_sum and train_output.global_step:
        # _total_loss_scalar: this attempt's loss sum, the numerator of Trainer's training_loss
        loss = (totals.earlier_loss_sum + trainer._total_loss_scalar) / train_output.global_step
    return {
        "train/loss": loss,
        "train/runtime_s": runtime,
        "train/steps": int(train_output.global_step),
        "train/samples_per_second": train_output.global_step * global_batch / runtime if runtime > 0 else 0.0,
        "train/processes": int(trainer.args.world_size),
        "train/cpu_s": totals.total_cpu_s() if totals is not None else 0.0,
        "model/total_params": int(total),
        "model/trainable_params": int(trainable),
        **logged_loss_range(trainer),
    }


def save_weights(model, output_dir: Path):
    """The default final save: the weights (``save_model_atomically``); with LoRA the merged model, the adapter
    under ``adapter/`` (``save_merged_with_adapter``). Returns the model the task evaluates next."""
    from hf_replearn.training.lora import is_peft_model, save_merged_with_adapter
    from hf_replearn.training.outputs import save_model_atomically

    if is_peft_model(model):
        return save_merged_with_adapter(model, output_dir)
    save_model_atomically(model, output_dir)
    return model


def train_and_save(recipe, trainer, model, save: Callable | None = None):
    """Run ``trainer`` (resuming when the recipe says so), save the final weights; returns ``(model, metrics)``.

    ``save(model, output_dir)`` writes the final weights on every process (a collective under FSDP) and may
    return the model to evaluate next (the image tasks' LoRA: the merged one); default :func:`save_weights`.
    """
    from hf_replearn.training.args import resume_argument
    from hf_replearn.training.trainer import ReplearnTrainer

    if not isinstance(trainer, ReplearnTrainer):
        raise TypeError(f"{type(trainer).__name__} is not a ReplearnTrainer: every task trains with it (atomic "
                        "checkpoints, resume); derive the task's Trainer from it")
    if getattr(recipe, "save_at_minutes", None):
        from hf_replearn.training.callbacks import add_save_at_minutes

        add_save_at_minutes(trainer, recipe.save_at_minutes, recipe.minutes_clock)
    train_output = trainer.train(resume_from_checkpoint=resume_argument(recipe))
    metrics = train_metrics(trainer, train_output, model)
    saved = (save or save_weights)(model, recipe.output_dir)
    return (model if saved is None else saved), metrics


def bounded_by_max_steps(recipe, steps: int, key: str) -> int:
    """``steps`` of a second training a task runs (a baseline), bounded by the recipe's ``max_steps`` when that
    is set and smaller, so that ``max_steps=3`` bounds every training of a smoke run; says so when it bounds."""
    max_steps = recipe.training.get("max_steps")
    if max_steps is None or int(max_steps) < 0 or int(max_steps) >= steps:
        return steps
    print(f"[{recipe.task}] {key}={steps} bounded by max_steps={int(max_steps)}", flush=True)
    return int(max_steps)


def bounded_by_dataset_limit(recipe, limit: int | None, key: str) -> int | None:
    """An evaluation's example limit (``None``: all), bounded by the recipe's ``dataset_limit`` when that is set
    and smaller, so that a smoke run evaluates as few examples as it trains on; says so when it bounds."""
    n = recipe.dataset_limit
    if n is None or (limit is not None and limit <= n):
        return limit
    print(f"[{recipe.task}] {key}={limit} bounded by dataset_limit={n}", flush=True)
    return n
