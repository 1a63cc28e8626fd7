import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from hf_replearn.losses import CLIPLoss
from hf_replearn.losses.clip import INIT_LOGIT_SCALE
from tests.distributed import gloo_group


def naive_clip(images, texts, t):
    """Figure 3 of the CLIP paper as a double loop: each image against every text, and the other way."""
    i = [F.normalize(v, dim=0) for v in images]
    x = [F.normalize(v, dim=0) for v in texts]
    n, scale = len(i), math.exp(min(t, math.log(100)))

    def ce(anchors, candidates, k):
        logits = [scale * float(anchors[k] @ candidates[j]) for j in range(n)]
        return -logits[k] + math.log(sum(math.exp(v) for v in logits))

    return (sum(ce(i, x, k) for k in range(n)) / n + sum(ce(x, i, k) for k in range(n)) / n) / 2


@pytest.mark.parametrize("t", [0.0, INIT_LOGIT_SCALE, math.log(100), 6.0])  # 6.0 > log 100: clipped
def test_matches_naive_loop(t):
    g = torch.Generator().manual_seed(0)
    images, texts = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    got = CLIPLoss()(images, texts, torch.tensor(t)).item()
    assert got == pytest.approx(naive_clip(images, texts, t), rel=1e-5)


def test_initial_temperature_is_the_papers():
    assert math.exp(INIT_LOGIT_SCALE) == pytest.approx(1 / 0.07)


def test_identical_embeddings_give_log_n():
    # Every logit equal: each row's softmax is uniform over N candidates.
    z = torch.ones(5, 3)
    assert CLIPLoss()(z, z, torch.tensor(INIT_LOGIT_SCALE)).item() == pytest.approx(math.log(5), rel=1e-6)


def test_aligned_orthogonal_pairs_exact_value_and_limit():
    # I_i = T_i = e_i: positive logit s, the N - 1 negatives 0, in both directions.
    n, t = 4, math.log(2.0)
    z = torch.eye(n)
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + n - 1))
    assert CLIPLoss()(z, z, torch.tensor(t)).item() == pytest.approx(expected, rel=1e-6)
    # At the largest scale (100) the loss is log(1 + (N - 1) e^-100): zero in float32.
    assert CLIPLoss()(z, z, torch.tensor(math.log(100))).item() == pytest.approx(0.0, abs=1e-6)


def test_scale_is_clipped_and_gets_no_gradient_above_the_clip():
    g = torch.Generator().manual_seed(1)
    images, texts = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    high = torch.tensor(7.0, requires_grad=True)
    loss = CLIPLoss()(images, texts, high)
    loss.backward()
    assert loss.item() == pytest.approx(CLIPLoss()(images, texts, torch.tensor(math.log(100))).item(), rel=1e-6)
    assert high.grad.item() == 0.0
    low = torch.tensor(1.0, requires_grad=True)
    CLIPLoss()(images, texts, low).backward()
    assert low.grad.item() != 0.0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="finite"):
        CLIPLoss(max_logit_scale=float("inf"))
    with pytest.raises(ValueError, match="same shape"):
        CLIPLoss()(torch.randn(4, 3), torch.randn(5, 3), torch.tensor(1.0))
    with pytest.raises(ValueError, match="at least 2"):
        CLIPLoss()(torch.randn(1, 3), torch.randn(1, 3), torch.tensor(1.0))


def test_gradient_pulls_pairs_together():
    images = torch.randn(8, 4, requires_grad=True)
    texts = torch.randn(8, 4)
    t = torch.tensor(INIT_LOGIT_SCALE)
    before = CLIPLoss()(images, texts, t)
    before.backward()
    with torch.no_grad():
        stepped = images - 0.1 * images.grad
    assert CLIPLoss()(stepped, texts, t) < before


B, D_IN, D = 3, 6, 5


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(2 * B, D_IN, generator=g), torch.randn(2 * B, D_IN, generator=g)


def _towers():
    torch.manual_seed(1)
    return torch.nn.Linear(D_IN, D), torch.nn.Linear(D_IN, D), torch.nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))


def _worker(rank, world_size, port, out_path):
    with gloo_group(rank, world_size, port):
        x_img, x_txt = _data()
        image_tower, text_tower, t = _towers()
        mine = slice(rank * B, (rank + 1) * B)
        loss = CLIPLoss()(image_tower(x_img[mine]), text_tower(x_txt[mine]), t)
        loss.backward()
        params = [*image_tower.parameters(), *text_tower.parameters(), t]
        for p in params:  # what DDP does: average the gradients
            dist.all_reduce(p.grad)
            p.grad /= world_size
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        if rank == 0:
            torch.save({"loss": mean_loss / world_size, "grads": [p.grad for p in params]}, out_path)


def test_two_processes_equal_one_process_with_double_batch(tmp_path, free_port):
    out = tmp_path / "dist.pt"
    mp.spawn(_worker, args=(2, free_port, str(out)), nprocs=2, join=True)
    got = torch.load(out)

    x_img, x_txt = _data()
    image_tower, text_tower, t = _towers()
    loss = CLIPLoss()(image_tower(x_img), text_tower(x_txt), t)
    loss.backward()
    assert got["loss"].item() == pytest.approx(loss.item(), abs=1e-5)
    for g_dist, p in zip(got["grads"], [*image_tower.parameters(), *text_tower.parameters(), t]):
        torch.testing.assert_close(g_dist, p.grad, atol=1e-5, rtol=1e-5)
