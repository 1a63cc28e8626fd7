"""The three key suppliers of the MoCo paper's Figure 3, each feeding the same InfoNCE loss.

- ``KeyQueue`` (MoCo, Fig. 3c): a FIFO of the last K keys of the momentum encoder, a buffer (so saved
  in checkpoints); keys are enqueued after each loss and the oldest batch is dequeued.
- ``BatchKeys`` (end-to-end, Fig. 3a): the other keys of the current batch are the negatives; the keys
  carry gradients, so K is bounded by the batch size. Under several processes the batch is the global
  one: keys are gathered with gradient (``gather_with_grad``), so K = P*N - 1 and P processes x N train
  like one process x P*N (tests/models/test_moco_distributed.py).
- ``MemoryBank`` (Wu et al. 2018, Fig. 3b): one stored feature per training example; a query's positive
  is its own entry, K negatives are sampled at random, and the entries of the batch move towards the new
  queries with momentum: v_i <- normalize(m v_i + (1 - m) q_i).

Each returns ``(negatives (K, D), mask (N, K) or None)`` for :class:`hf_replearn.losses.InfoNCELoss`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.models.moco.distributed import gather_across_processes
from hf_replearn.utils.distributed import gather_with_grad, world


class KeyQueue(nn.Module):
    """``size_key``: the config field that sets ``queue_size``, for the error message (NNCLR's support set is one too)."""

    def __init__(self, queue_size: int, dim: int, size_key: str = "MoCo queue_size"):
        super().__init__()
        self.size_key = size_key
        # Random unit keys to start, as in the paper's code; replaced after K / batch steps.
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    def negatives(self, k: torch.Tensor):
        return self.queue.clone().detach(), None

    @torch.no_grad()
    def enqueue(self, k: torch.Tensor) -> None:
        """Replace the oldest keys with ``k`` (N, D), gathered from every process first."""
        k = F.normalize(gather_across_processes(k.detach()), dim=1)
        n, size = len(k), len(self.queue)
        if size % n != 0:
            raise ValueError(
                f"{self.size_key} {size} is not a multiple of the global batch size {n}; set it to a "
                f"multiple of {n} (e.g. {max(n, size // n * n)}) or change the batch size (keep dataloader_drop_last)"
            )
        ptr = int(self.queue_ptr)
        self.queue[ptr : ptr + n] = k.to(self.queue.dtype)
        self.queue_ptr.fill_((ptr + n) % size)


class BatchKeys(nn.Module):
    def negatives(self, k: torch.Tensor):
        """Every process's keys (P*N, D), gradient flowing back; mask (N, P*N) hides each query's own key."""
        rank, _ = world()
        everyone = gather_with_grad(k)  # (N, D) -> (P*N, D); this process's keys at rank*N .. rank*N + N
        own = torch.arange(len(k), device=k.device) + rank * len(k)
        mask = torch.zeros(len(k), len(everyone), dtype=torch.bool, device=k.device)
        mask[torch.arange(len(k), device=k.device), own] = True  # K = P*N - 1
        return everyone, mask


class MemoryBank(nn.Module):
    def __init__(self, size: int, dim: int, num_negatives: int, momentum: float):
        super().__init__()
        if size < 2:
            raise ValueError(
                f"the memory bank needs one entry per training example (memory_bank_size), got {size}; "
                "the moco task sets it from the dataset"
            )
        self.num_negatives = num_negatives
        self.momentum = momentum
        self.register_buffer("bank", F.normalize(torch.randn(size, dim), dim=1))

    def positives(self, index: torch.Tensor) -> torch.Tensor:
        return self.bank[index].clone().detach()

    def negatives(self, index: torch.Tensor):
        picks = torch.randint(len(self.bank), (self.num_negatives,), device=self.bank.device)  # (K,)
        mask = picks[None, :] == index[:, None]  # (N, K): a query's own entry is no negative
        return self.bank[picks].clone().detach(), mask

    @torch.no_grad()
    def update(self, index: torch.Tensor, q: torch.Tensor) -> None:
        index = gather_across_processes(index)
        q = F.normalize(gather_across_processes(q.detach()), dim=1).to(self.bank.dtype)
        self.bank[index] = F.normalize(self.momentum * self.bank[index] + (1 - self.momentum) * q, dim=1)
