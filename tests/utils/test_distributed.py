"""2 CPU processes (gloo) x batch B give the loss and gradients of 1 process x batch 2B."""


import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hf_replearn.losses import DecoupledContrastiveLoss, NNCLRLoss, NTXentLoss, VICRegLoss
from tests.distributed import gloo_group

B, D_IN, D = 4, 6, 5
SUPPORT = torch.randn(16, D, generator=torch.Generator().manual_seed(3))


def _nnclr():
    loss = NNCLRLoss(0.5)
    return lambda z1, z2: loss(z1, z2, SUPPORT)


LOSSES = {"ntxent": lambda: NTXentLoss(0.5), "dcl": lambda: DecoupledContrastiveLoss(0.5), "vicreg": VICRegLoss,
          "nnclr": _nnclr}
"""Losses whose statistics span the whole batch: NT-Xent's, DCL's and NNCLR's negatives, VICReg's variance and
covariance."""


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(2 * B, D_IN, generator=g), torch.randn(2 * B, D_IN, generator=g)


def _model():
    torch.manual_seed(1)
    return torch.nn.Linear(D_IN, D)


def _worker(rank, world_size, port, out_path, loss_name="ntxent"):
    with gloo_group(rank, world_size, port):
        x1, x2 = _data()
        model = _model()
        mine = slice(rank * B, (rank + 1) * B)
        loss = LOSSES[loss_name]()(model(x1[mine]), model(x2[mine]))
        loss.backward()
        # What DDP does: average the parameter gradients (and we average the logged loss).
        for p in model.parameters():
            dist.all_reduce(p.grad)
            p.grad /= world_size
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        mean_loss /= world_size
        if rank == 0:
            torch.save({"loss": mean_loss, "grads": [p.grad for p in model.parameters()]}, out_path)



@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_two_processes_equal_one_process_with_double_batch(tmp_path, free_port, loss_name):
    out = tmp_path / "dist.pt"
    mp.spawn(_worker, args=(2, free_port, str(out), loss_name), nprocs=2, join=True)
    got = torch.load(out)

    x1, x2 = _data()
    model = _model()
    loss = LOSSES[loss_name]()(model(x1), model(x2))
    loss.backward()

    assert got["loss"].item() == pytest.approx(loss.item(), abs=1e-5)
    for g_dist, p in zip(got["grads"], model.parameters()):
        torch.testing.assert_close(g_dist, p.grad, atol=1e-5, rtol=1e-5)


def test_without_gradient_through_the_gather_the_gradients_differ(tmp_path, monkeypatch):
    """Guards the test above: a gather without gradient (accelerate's) would not pass it."""
    x1, x2 = _data()
    model = _model()
    full = NTXentLoss(0.5)(model(x1), model(x2))
    grads_full = torch.autograd.grad(full, list(model.parameters()))
    # Simulate 2 processes, each seeing the other's embeddings as constants.
    total = [torch.zeros_like(p) for p in model.parameters()]
    for rank in range(2):
        mine = slice(rank * B, (rank + 1) * B)
        z1, z2 = model(x1), model(x2)
        z1 = torch.cat([z1[:rank * B].detach(), z1[mine], z1[(rank + 1) * B:].detach()])
        z2 = torch.cat([z2[:rank * B].detach(), z2[mine], z2[(rank + 1) * B:].detach()])
        loss_fn = NTXentLoss(0.5, gather_distributed=False)
        # local anchors only, like one process
        import torch.nn.functional as F

        cand = F.normalize(torch.cat([z1, z2]), dim=1)
        anchors = F.normalize(torch.cat([z1[mine], z2[mine]]), dim=1)
        logits = anchors @ cand.T / loss_fn.temperature
        own1 = torch.arange(B) + rank * B
        rows = torch.arange(2 * B)
        logits = logits.index_put((rows, torch.cat([own1, own1 + 2 * B])), torch.tensor(float("-inf")))
        loss = F.cross_entropy(logits, torch.cat([own1 + 2 * B, own1]))
        for t, g in zip(total, torch.autograd.grad(loss, list(model.parameters()))):
            t += g / 2
    assert not all(torch.allclose(a, b, atol=1e-5) for a, b in zip(total, grads_full))
