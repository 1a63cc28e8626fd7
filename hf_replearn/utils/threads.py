"""How many intra-op threads torch uses, so that a shared machine slows down fairly.

PyTorch's CPU build runs its intra-op parallelism on GNU OpenMP, whose threads busy-wait between parallel
regions. While another job holds a core, a spinning thread burns the time slices that core's job needs and
both jobs lose far more than half their speed: two copies of the quickstart on 2 cores each ran 5x slower
than one alone with torch's default threads, and barely slower with one thread each. Two settings fix it:

- the thread count comes from the cores that are free now (cores the process may run on, less the 1-minute
  load average), divided among the processes a launcher started on this node;
- ``OMP_WAIT_POLICY=PASSIVE``: idle OpenMP threads sleep instead of spinning. OpenMP reads it once, when the
  runtime starts, so :func:`apply_thread_policy` must run before ``import torch``.

``--threads N`` overrides the choice, and ``OMP_NUM_THREADS`` set by the user (or a launcher) is respected.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from hf_replearn.errors import UserError


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str  # why this many, for the one line printed at start

    def describe(self) -> str:
        return f"threads: {self.threads} torch intra-op thread(s) ({self.reason})"


def choose_threads(requested: int | None = None, environ=os.environ, cpus: int | None = None,
                   load: float | None = None) -> ThreadChoice:
    """The thread count: ``requested`` (``--threads``), else ``OMP_NUM_THREADS``, else the free cores."""
    if requested is not None:
        if requested < 1:
            raise UserError(f"--threads {requested}: give a whole number of threads >= 1, e.g. --threads 1")
        return ThreadChoice(requested, "--threads")
    if environ.get("OMP_NUM_THREADS", "").strip():
        value = environ["OMP_NUM_THREADS"].strip()
        # OpenMP accepts a comma list (one count per nesting level); torch's pool uses the first.
        first = value.split(",")[0]
        if not first.isdigit() or int(first) < 1:
            raise UserError(f"OMP_NUM_THREADS={value!r} is not a thread count; set it to a whole number >= 1 "
                            "(or unset it to let hf-replearn choose from the free cores)")
        return ThreadChoice(int(first), "OMP_NUM_THREADS")
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    load = load if load is not None else os.getloadavg()[0]
    free = max(1, cpus - int(load + 0.5))  # a job that holds a core for most of the last minute counts as one
    processes = int(environ.get("LOCAL_WORLD_SIZE", "1") or 1)  # torchrun / accelerate launch on this node
    threads = max(1, free // max(1, processes))
    reason = f"{cpus} core(s), load {load:.1f}"
    if processes > 1:
        reason += f", {processes} processes on this node"
    return ThreadChoice(threads, reason + "; --threads N or OMP_NUM_THREADS to choose")


def apply_thread_policy(requested: int | None = None, announce: bool = True) -> ThreadChoice:
    """Choose the thread count and set it for torch and for anything this process starts.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a policy; it takes effect only if torch has not been
    imported yet (the CLI calls this first). Prints the choice on stdout (errors keep stderr to themselves),
    from the main process only.
    """
    choice = choose_threads(requested)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["OMP_NUM_THREADS"] = str(choice.threads)  # dataloader workers and subprocesses inherit it
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(choice.threads)
    if announce and os.environ.get("RANK", "0") == "0":
        print(choice.describe(), flush=True)
    return choice
