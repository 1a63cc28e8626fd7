"""Collectives for contrastive losses under several processes.

A contrastive loss wants every process's embeddings as negatives. ``accelerate``'s ``gather`` carries
no gradient, so a process's embeddings would receive gradient only from its own anchors. Here the
gather is ``torch.distributed.nn.functional.all_gather``, whose backward sums, for each process's slice,
the gradients computed by every process. With DDP's gradient averaging, P processes x batch B then
train exactly like one process x batch P*B (tests/training/test_distributed.py checks it with gloo).
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a multi-process run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every process along dim 0 -> (P*B, ...), gradient flowing back.

    Every process must pass the same B (Trainer recipes set ``dataloader_drop_last``).
    """
    _, size = world()
    if size == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), dim=0)
