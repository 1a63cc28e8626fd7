"""A gloo process group for tests that spawn 2 CPU processes."""

from contextlib import contextmanager
from datetime import timedelta

import torch.distributed as dist


@contextmanager
def gloo_group(rank: int, world_size: int, port: int, timeout_s: float | None = None):
    """Join a gloo group on 127.0.0.1:port; leave it only once every process is done with it.

    Without the barrier, one process could tear gloo down while the other still writes its result,
    and the process exits with SIGABRT ("terminate called without an active exception"), seen in CI.
    """
    timeout = {} if timeout_s is None else {"timeout": timedelta(seconds=timeout_s)}  # a collective one side skips fails
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size, **timeout)
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()
