"""MoCo under 2 CPU processes (gloo): keys gathered before enqueueing, shuffle BN across processes,
InfoNCE with 2 x B equal to 1 x 2B. One pair of processes runs every check (a spawn costs seconds)."""

import socket

import pytest
import torch
import torch.multiprocessing as mp

from hf_replearn.models.moco.distributed import gather_across_processes, shuffled_key_forward
from hf_replearn.models.moco.keys import KeyQueue
from tests.distributed import gloo_group

B = 3


def _queue_checks(rank):
    torch.manual_seed(rank)
    x = torch.arange(rank * B, (rank + 1) * B, dtype=torch.float)[:, None]  # rank 0: 0,1,2; rank 1: 3,4,5
    seen = []

    def fn(batch):  # records which examples this process encoded; keys = 10 x
        seen.append(batch.clone())
        return 10 * batch

    keys = shuffled_key_forward(fn, x, groups=1)
    queue = KeyQueue(queue_size=2 * B, dim=1)
    queue.enqueue(torch.ones(B, 1) * (rank + 1))  # normalised: every key is 1 in one dimension
    everyone = gather_across_processes(torch.cat(seen))
    return {"keys": keys, "queue_ptr": queue.queue_ptr.clone(), "encoded": everyone}


def _worker(rank, world_size, port, out_path):
    with gloo_group(rank, world_size, port):
        got = {"queue": _queue_checks(rank), "infonce": _infonce_checks(rank, world_size)}
        if rank == 0:
            torch.save(got, out_path)


@pytest.fixture(scope="module")
def spawned(tmp_path_factory):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path_factory.mktemp("moco") / "dist.pt"
    mp.spawn(_worker, args=(2, port, str(out)), nprocs=2, join=True)
    return torch.load(out)


def test_shuffle_across_processes_restores_order_and_queue_takes_the_global_batch(spawned):
    got = spawned["queue"]
    torch.testing.assert_close(got["keys"], 10 * torch.arange(0.0, B)[:, None])  # rank 0's keys, in its order
    assert sorted(got["encoded"].flatten().tolist()) == list(range(2 * B))  # every example encoded exactly once
    assert int(got["queue_ptr"]) == 0  # 2 x B keys gathered into a queue of 2 x B: wrapped to the start


# InfoNCE under 2 processes: a linear "encoder", B queries per process, the negatives of each mechanism.
D_IN, D, K = 6, 5, 7


def _views():
    g = torch.Generator().manual_seed(0)
    return torch.randn(2 * B, D_IN, generator=g), torch.randn(2 * B, D_IN, generator=g), torch.randn(K, D, generator=g)


def _encoder():
    torch.manual_seed(1)
    return torch.nn.Linear(D_IN, D)


def _infonce(model, x1, x2, queue, mechanism):
    """End-to-end: the batch's keys (gathered over processes) are the negatives; moco: a fixed queue."""
    from hf_replearn.losses import InfoNCELoss
    from hf_replearn.models.moco.keys import BatchKeys

    q, k = model(x1), model(x2)
    negatives, mask = BatchKeys().negatives(k) if mechanism == "end_to_end" else (queue, None)
    return InfoNCELoss(0.2)(q, k, negatives, mask)


def _infonce_checks(rank, world_size):
    import torch.distributed as dist

    x1, x2, queue = _views()
    mine = slice(rank * B, (rank + 1) * B)
    got = {}
    for mechanism in ("end_to_end", "moco"):
        model = _encoder()
        loss = _infonce(model, x1[mine], x2[mine], queue, mechanism)
        loss.backward()
        for p in model.parameters():  # what DDP does: average the gradients over processes
            dist.all_reduce(p.grad)
            p.grad /= world_size
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        got[mechanism] = {"loss": mean_loss / world_size, "grads": [p.grad for p in model.parameters()]}
    return got


def test_infonce_two_processes_equal_one_process_with_double_batch(spawned):
    got = spawned["infonce"]
    x1, x2, queue = _views()
    for mechanism in ("end_to_end", "moco"):
        model = _encoder()
        loss = _infonce(model, x1, x2, queue, mechanism)
        loss.backward()
        assert abs(got[mechanism]["loss"].item() - loss.item()) < 1e-5, mechanism
        for g_dist, p in zip(got[mechanism]["grads"], model.parameters()):
            torch.testing.assert_close(g_dist, p.grad, atol=1e-5, rtol=1e-5)


def test_end_to_end_negatives_without_the_gather_would_differ():
    """Guards the test above: with only the local keys as negatives (K = B - 1), the loss is another one."""
    x1, x2, queue = _views()
    model = _encoder()
    full = _infonce(model, x1, x2, queue, "end_to_end")
    local = sum(_infonce(model, x1[r * B:(r + 1) * B], x2[r * B:(r + 1) * B], queue, "end_to_end") for r in range(2)) / 2
    assert abs(full.item() - local.item()) > 1e-3
