"""A gloo process group for tests that spawn 2 CPU processes."""

import os
import sys
from contextlib import contextmanager
from datetime import timedelta

import torch.distributed as dist


@contextmanager
def gloo_group(rank: int, world_size: int, port: int, timeout_s: float | None = None):
    """Join a gloo group on 127.0.0.1:port; leave it only once every process is done with it.

    Without the barrier, one process could tear gloo down while the other still writes its result,
    and the process exits with SIGABRT ("terminate called without an active exception"), seen in CI.
    The same abort was seen once more after the barrier and ``destroy_process_group``, in the interpreter's own
    teardown (rank 0, its result already written): so a worker whose block ended without an error leaves with
    ``os._exit(0)`` and skips that teardown. Use it as the whole body of a spawned worker.
    """
    timeout = {} if timeout_s is None else {"timeout": timedelta(seconds=timeout_s)}  # a collective one side skips fails
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size, **timeout)
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
