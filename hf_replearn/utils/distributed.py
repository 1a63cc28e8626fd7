"""Collectives for contrastive losses under several processes.

A contrastive loss wants every process's embeddings as negatives. ``accelerate``'s ``gather`` carries
no gradient, so a process's embeddings would receive gradient only from its own anchors. Here the
gather is ``torch.distributed.nn.functional.all_gather``, whose backward sums, for each process's slice,
the gradients computed by every process. With DDP's gradient averaging, P processes x batch B then
train exactly like one process x batch P*B (tests/utils/test_distributed.py checks it with gloo).

Also the little that ``run_recipe`` needs under ``accelerate launch``: join the launcher's group early,
tell the main process (the only writer) from the others, and a barrier.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a multi-process run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def launched_world_size() -> int:
    """Processes started by the launcher (``accelerate launch`` / torchrun set WORLD_SIZE); 1 otherwise."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def on_cpu_only() -> bool:
    """No accelerator (CUDA, XPU, MPS, ...): a multi-process run must use gloo on the CPU."""
    return not torch.accelerator.is_available()


def init_launched_process_group() -> None:
    """Join the launcher's process group now, before anything touches the output directory.

    Trainer would join it later (when TrainingArguments is built); the output-directory guard and the
    barrier in :func:`hf_replearn.tasks.run_recipe` need it earlier. Same group, same settings: accelerate's
    PartialState, on gloo when the machine has no accelerator.
    """
    if launched_world_size() > 1 and not dist.is_initialized():
        from accelerate import PartialState

        PartialState(cpu=on_cpu_only())


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes results, model cards, plots and pushes."""
    return world()[0] == 0


def barrier() -> None:
    """Wait for every process (no-op with one)."""
    if world()[1] > 1:
        dist.barrier()


@contextmanager
def main_process_first():
    """The main process runs the block first (e.g. builds a shared cache), the others after it, reading what
    it wrote instead of building the same files at the same time. No-op with one process."""
    if not is_main_process():
        barrier()
    yield
    if is_main_process():
        barrier()


# torch 2.13 deprecates torch.distributed.nn.functional.all_gather for its functional collectives
# (all_gather_single_autograd); a 70-epoch two-process gloo run with that one aborted at step 7,768 on heap corruption
# ("malloc(): unaligned tcache chunk"), where this one has run every long training here. Kept, and its warning (raised
# at the call below) silenced once at import rather than around every training step's call.
warnings.filterwarnings("ignore", message=".*all_gather is deprecated.*", category=FutureWarning,
                        module=r"hf_replearn\.utils\.distributed")


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every process along dim 0 -> (P*B, ...), gradient flowing back.

    Every process must pass the same B (Trainer recipes set ``dataloader_drop_last``).
    """
    _, size = world()
    if size == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), dim=0)
