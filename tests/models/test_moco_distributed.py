"""MoCo under 2 CPU processes (gloo): keys gathered before enqueueing, shuffle BN across processes."""


import torch
import torch.multiprocessing as mp

from hf_replearn.models.moco.distributed import gather_across_processes, shuffled_key_forward
from hf_replearn.models.moco.keys import KeyQueue
from tests.distributed import gloo_group

B = 3


def _worker(rank, world_size, port, out_path):
    with gloo_group(rank, world_size, port):
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
        if rank == 0:
            torch.save({"keys": keys, "queue_ptr": queue.queue_ptr.clone(), "encoded": everyone}, out_path)



def test_shuffle_across_processes_restores_order_and_queue_takes_the_global_batch(tmp_path, free_port):
    out = tmp_path / "moco.pt"
    mp.spawn(_worker, args=(2, free_port, str(out)), nprocs=2, join=True)
    got = torch.load(out)
    torch.testing.assert_close(got["keys"], 10 * torch.arange(0.0, B)[:, None])  # rank 0's keys, in its order
    assert sorted(got["encoded"].flatten().tolist()) == list(range(2 * B))  # every example encoded exactly once
    assert int(got["queue_ptr"]) == 0  # 2 x B keys gathered into a queue of 2 x B: wrapped to the start
