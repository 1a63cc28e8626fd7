"""A masked-LM collator whose masks are a function of the seed and the batch, not of a running generator.

``DataCollatorForLanguageModeling(seed=...)`` draws every mask from one generator that runs on from batch to
batch. That state is in no checkpoint, and the dataloader collates a batch ahead of the step that trains on
it, so a run resumed from a checkpoint (or one that evaluates in between) masks its later batches
differently from an uninterrupted run. Here the generator is seeded afresh for each batch from
``seed``, the epoch (:meth:`set_epoch`, which ``training.callbacks.CollatorEpochCallback`` calls) and the
batch's token ids: a batch gets the same mask whenever and however often it is collated within an epoch, so a
resumed run trains on exactly the batches of an uninterrupted one, and a block seen again in a later epoch
gets a fresh mask, as dynamic masking asks.
"""

from __future__ import annotations

import torch
from transformers import DataCollatorForLanguageModeling

_MASK63 = (1 << 63) - 1


def batch_seed(seed: int, epoch: int, input_ids: torch.Tensor) -> int:
    """A 63-bit seed from ``seed``, ``epoch`` and the token ids (B, T): a position-weighted sum in wrapping int64."""
    ids = input_ids.reshape(-1).to(torch.int64)
    weights = torch.arange(ids.numel(), dtype=torch.int64) * 2654435761 + 0x9E3779B97F4A7C15 % (1 << 62)
    mixed = int((ids + 1).mul(weights).sum()) ^ (int(ids.numel()) << 32)
    return ((seed * 1_000_003 + epoch) * 1_000_033 + mixed) & _MASK63


class BatchSeededLanguageModelingCollator(DataCollatorForLanguageModeling):
    """``DataCollatorForLanguageModeling`` with a per-batch generator (see the module docstring); ``seed`` is
    required for masked LM."""

    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def torch_mask_tokens(self, inputs, *args, **kwargs):
        self.generator = torch.Generator().manual_seed(batch_seed(self.seed, self.epoch, inputs))
        return super().torch_mask_tokens(inputs, *args, **kwargs)
