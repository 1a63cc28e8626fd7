"""Trainer callbacks shared by the tasks."""

from __future__ import annotations

import time

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from hf_replearn.config import MINUTE_CLOCKS


class MomentumUpdateCallback(TrainerCallback):
    """Calls ``model.momentum_update()`` after every optimizer step (MoCo's key encoder EMA, Eq. 2).

    ``on_step_end`` runs once per optimizer step, after gradient accumulation, so the EMA follows
    optimizer steps as in the paper, not forward passes.
    """

    def on_step_end(self, args, state, control, model=None, **kwargs):
        model = getattr(model, "module", model)  # unwrap DistributedDataParallel
        if model is not None and hasattr(model, "momentum_update"):
            model.momentum_update()


def saved_attributes(state, callback) -> dict:
    """The attributes ``callback``'s class saved in the checkpoint a run resumed from (``state.stateful_callbacks``;
    Trainer keeps a list when several callbacks share the class name); empty for a fresh run."""
    saved = (state.stateful_callbacks or {}).get(type(callback).__name__)
    if isinstance(saved, list):
        saved = saved[0] if saved else None
    return saved["attributes"] if saved else {}


class RunTotals(TrainerCallback, ExportableState):
    """Training time and summed training loss of the whole run, across resumes, kept in every checkpoint.

    ``Trainer`` times and averages only its own ``train()`` call, so a run killed and resumed would report
    the resumed part alone. This callback's :meth:`state` goes into every checkpoint's ``trainer_state.json``
    (``stateful_callbacks``, as ``Trainer`` does for any ``ExportableState``); on resume ``on_train_begin``
    reads it back from the loaded state, whether or not ``restore_callback_states_from_checkpoint`` is set.
    The time between the last checkpoint and a crash is not counted: the resumed run trains those steps again.
    ``ReplearnTrainer`` sets :attr:`loss_sum` just before each checkpoint (the Trainer's own running sum).
    """

    def __init__(self, elapsed_s: float = 0.0, loss_sum: float = 0.0, cpu_s: float = 0.0):
        self.earlier_s = float(elapsed_s)  # training time of earlier attempts, up to the checkpoint resumed from
        self.earlier_cpu_s = float(cpu_s)  # their CPU time (this process's, every thread)
        self.earlier_loss_sum = float(loss_sum)  # their summed per-step training loss, up to that checkpoint
        self.loss_sum = self.earlier_loss_sum  # whole-run sum at the latest checkpoint
        self._started: float | None = None
        self._cpu_started: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        attributes = saved_attributes(state, self)
        self.earlier_s = float(attributes.get("elapsed_s", 0.0))
        self.earlier_cpu_s = float(attributes.get("cpu_s", 0.0))
        self.earlier_loss_sum = self.loss_sum = float(attributes.get("loss_sum", 0.0))
        self._started, self._cpu_started = time.time(), time.process_time()

    def total_s(self) -> float:
        return self.earlier_s + (time.time() - self._started if self._started is not None else 0.0)

    def total_cpu_s(self) -> float:
        """CPU time of the run (this process, every thread): on a machine shared with other jobs, the figure
        that does not depend on them."""
        return self.earlier_cpu_s + (time.process_time() - self._cpu_started if self._cpu_started is not None else 0.0)

    def state(self) -> dict:
        return {"args": {}, "attributes": {"elapsed_s": self.total_s(), "cpu_s": self.total_cpu_s(), "loss_sum": self.loss_sum}}


class SaveAtMinutes(TrainerCallback, ExportableState):
    """Saves a checkpoint when the run's training time first reaches each of ``minutes``, for a curve of what
    a representation is worth after 5, 10, 20... minutes of one run.

    ``clock``: ``wall`` (the run's training time, :meth:`RunTotals.total_s`) or ``cpu`` (its CPU time,
    :meth:`RunTotals.total_cpu_s`: with one thread, the minutes of one core, whatever else the machine runs).
    Both count across resumes. Which step each mark fell on is kept in every checkpoint's ``trainer_state.json``
    (``stateful_callbacks``, attribute ``steps``: minutes -> step). The model of each mark (weights, config,
    trainer state) is also copied to ``OUTPUT_DIR/minutes-<m>/``, which checkpoint rotation
    (``save_total_limit``) does not touch; it loads like the final model.
    """

    def __init__(self, minutes: list[float], clock: str = "wall", steps: dict | None = None):
        if clock not in MINUTE_CLOCKS:
            raise ValueError(f"SaveAtMinutes clock must be one of {MINUTE_CLOCKS}, got {clock!r}")
        self.minutes = sorted(float(m) for m in minutes)
        self.clock = clock
        self.steps = dict(steps or {})

    def on_train_begin(self, args, state, control, **kwargs):
        # a resumed run: the marks already passed stay where they fell
        self.steps = dict(saved_attributes(state, self).get("steps", self.steps))

    def on_step_end(self, args, state, control, **kwargs):
        totals = next(cb for cb in self._handler.callbacks if isinstance(cb, RunTotals))
        elapsed_min = (totals.total_cpu_s() if self.clock == "cpu" else totals.total_s()) / 60
        for mark in self.minutes:
            if mark <= elapsed_min and str(mark) not in self.steps:
                self.steps[str(mark)] = state.global_step
                control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        import shutil
        from pathlib import Path

        if not state.is_world_process_zero:
            return
        for mark, step in self.steps.items():
            source, target = Path(args.output_dir) / f"checkpoint-{step}", Path(args.output_dir) / f"minutes-{float(mark):g}"
            if step == state.global_step and source.is_dir() and not target.exists():
                staging = target.with_name(target.name + ".tmp")
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir()
                for name in ("config.json", "model.safetensors", "trainer_state.json"):
                    if (source / name).is_file():
                        shutil.copy2(source / name, staging / name)
                staging.replace(target)  # whole or absent: a crash mid-copy leaves no half folder under the name

    _handler = None
    """The trainer's callback handler, set by :func:`add_save_at_minutes`: callbacks do not see each other,
    and ``Trainer`` may swap in a new :class:`RunTotals` on resume."""

    def state(self) -> dict:
        return {"args": {"minutes": self.minutes, "clock": self.clock}, "attributes": {"steps": self.steps}}


def add_save_at_minutes(trainer, minutes: list[float], clock: str) -> None:
    """Adds a :class:`SaveAtMinutes` reading the clock of the trainer's :class:`RunTotals`."""
    callback = SaveAtMinutes(minutes, clock)
    callback._handler = trainer.callback_handler
    trainer.add_callback(callback)


def run_totals(trainer) -> RunTotals | None:
    """The trainer's :class:`RunTotals` (``Trainer`` swaps in a new instance when it restores callbacks)."""
    return next((cb for cb in trainer.callback_handler.callbacks if isinstance(cb, RunTotals)), None)


class CollatorEpochCallback(TrainerCallback):
    """Tells a collator with ``set_epoch`` the epoch it collates for, as accelerate tells a dataset.

    A collator that seeds its draws per batch (``data/masking.py``) needs the epoch so that a block seen
    again in a later epoch, even in the same batch, draws anew. The epoch is counted here from the global
    step, as ``Trainer`` counts the epochs a resumed run has trained, so a resumed run starts from the same one.
    """

    def __init__(self, collator):
        self.collator = collator
        self.epoch = 0

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        try:
            batches = len(train_dataloader)
        except TypeError:  # a streamed dataset: no epochs to count
            batches = 0
        steps_per_epoch = -(-batches // args.gradient_accumulation_steps)  # Trainer's num_update_steps_per_epoch
        self.epoch = state.global_step // steps_per_epoch if steps_per_epoch else 0

    def on_epoch_begin(self, args, state, control, **kwargs):
        if hasattr(self.collator, "set_epoch"):  # a collator without draws (causal LM) has none
            self.collator.set_epoch(self.epoch)

    def on_epoch_end(self, args, state, control, **kwargs):
        self.epoch += 1
