"""Input checks the contrastive losses share."""

from __future__ import annotations

import torch


def check_paired_batch(loss: str, a: torch.Tensor, b: torch.Tensor, items: str = "samples",
                       why: str = "one positive, some negatives") -> None:
    """``a`` and ``b`` are two (N, D) batches of the same shape with N >= 2 (``why`` says what needs two)."""
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"{loss} expects two (N, D) tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] < 2:
        raise ValueError(f"{loss} needs at least 2 {items} per batch ({why})")
