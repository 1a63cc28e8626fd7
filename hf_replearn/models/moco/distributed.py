"""What MoCo needs across processes: gathering keys, and BatchNorm that cannot leak across a batch.

MoCo's "shuffling BN" (He et al. 2020, Sec. 3.3): with BatchNorm computed over the very samples whose
query and key are compared, the model can read the positive off the batch statistics and cheat. The
paper encodes keys on a batch shuffled across GPUs (each GPU normalises over a different subset than
for the queries), then restores the order. Here the batch is split into ``groups`` BatchNorm groups:
with one process, groups are chunks of the local batch; with several, each process is a group and the
shuffle runs over the gathered global batch (as in the paper's code). SyncBN is the other known
fix; it is not used here since it pools statistics over the whole global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@torch.no_grad()
def gather_across_processes(t: torch.Tensor) -> torch.Tensor:
    """Concatenate ``t`` (N, ...) from every process (equal N, as with dataloader_drop_last); no gradient."""
    if world_size() == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def grouped_forward(fn, x: torch.Tensor, groups: int) -> torch.Tensor:
    """``fn`` over ``groups`` chunks of the batch, so that each BatchNorm sees only its chunk."""
    if groups <= 1:
        return fn(x)
    return torch.cat([fn(chunk) for chunk in x.chunk(groups)])


@torch.no_grad()
def shuffled_key_forward(fn, x: torch.Tensor, groups: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keys ``fn(x)`` computed on a shuffled batch, in the original order; see the module docstring."""
    if world_size() > 1:
        full = gather_across_processes(x)  # (W*N, ...)
        perm = torch.randperm(len(full), device=x.device)
        dist.broadcast(perm, src=0)  # one shuffle for all processes
        rank, n = dist.get_rank(), len(x)
        k_local = fn(full[perm[rank * n : (rank + 1) * n]])
        k_full = torch.empty((len(full), *k_local.shape[1:]), dtype=k_local.dtype, device=k_local.device)
        k_full[perm] = gather_across_processes(k_local)
        return k_full[rank * n : (rank + 1) * n]
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    k = grouped_forward(fn, x[perm], groups)
    out = torch.empty_like(k)
    out[perm] = k
    return out
