import math

import pytest
import torch
import torch.nn.functional as F

from hf_replearn.losses import MultiCropNTXentLoss, NTXentLoss


def naive_multicrop(views, tau, num_global=2):
    """The multi-positive loss as a double loop: every embedding is an anchor; its positives are the global
    views of its own sample other than itself; the denominator runs over every other embedding."""
    n = len(views[0])
    z = {(v, i): F.normalize(views[v][i], dim=0) for v in range(len(views)) for i in range(n)}
    total = 0.0
    for a in z:
        denom = sum(math.exp(float(z[a] @ z[k]) / tau) for k in z if k != a)
        positives = [(g, a[1]) for g in range(num_global) if (g, a[1]) != a]
        total += -sum(math.log(math.exp(float(z[a] @ z[p]) / tau) / denom) for p in positives) / len(positives)
    return total / len(z)


@pytest.mark.parametrize("n_views", [2, 3, 6])
@pytest.mark.parametrize("tau", [0.2, 0.5])
def test_matches_naive_loop(n_views, tau):
    g = torch.Generator().manual_seed(n_views)
    views = [torch.randn(5, 4, generator=g) for _ in range(n_views)]
    assert MultiCropNTXentLoss(tau)(views).item() == pytest.approx(naive_multicrop(views, tau), rel=1e-5)


def test_two_views_is_ntxent():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    assert MultiCropNTXentLoss(0.5)([z1, z2]).item() == pytest.approx(NTXentLoss(0.5)(z1, z2).item(), rel=1e-6)


def test_identical_embeddings_give_log_vn_minus_1():
    # Every similarity is 1: each positive's softmax share is 1 / (VN - 1).
    views = [torch.ones(3, 4)] * 4
    assert MultiCropNTXentLoss(0.5)(views).item() == pytest.approx(math.log(4 * 3 - 1), rel=1e-6)


def test_gradient_reaches_local_views():
    views = [torch.randn(4, 8, requires_grad=True) for _ in range(4)]
    MultiCropNTXentLoss(0.5)(views).backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in views)


def test_rejects_one_view_and_mixed_shapes():
    with pytest.raises(ValueError, match=">= 2 views"):
        MultiCropNTXentLoss(0.5)([torch.randn(4, 8)])
    with pytest.raises(ValueError, match="one shape"):
        MultiCropNTXentLoss(0.5)([torch.randn(4, 8), torch.randn(3, 8)])
    with pytest.raises(ValueError, match="temperature"):
        MultiCropNTXentLoss(0.0)
