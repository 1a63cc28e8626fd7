"""Trainer callbacks shared by the tasks."""

from __future__ import annotations

from transformers import TrainerCallback


class MomentumUpdateCallback(TrainerCallback):
    """Calls ``model.momentum_update()`` after every optimizer step (MoCo's key encoder EMA, Eq. 2).

    ``on_step_end`` runs once per optimizer step, after gradient accumulation, so the EMA follows
    optimizer steps as in the paper, not forward passes.
    """

    def on_step_end(self, args, state, control, model=None, **kwargs):
        model = getattr(model, "module", model)  # unwrap DistributedDataParallel
        if model is not None and hasattr(model, "momentum_update"):
            model.momentum_update()
