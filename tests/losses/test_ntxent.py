import math

import pytest
import torch

from hf_replearn.losses import DecoupledContrastiveLoss, NTXentLoss
from tests.losses.naive import naive_contrastive


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_matches_naive_loop(tau):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert NTXentLoss(tau)(z1, z2).item() == pytest.approx(naive_contrastive(z1, z2, tau), rel=1e-5)


def test_identical_embeddings_give_log_2n_minus_1():
    # All 2N embeddings equal: every similarity is 1, so l = -log(1 / (2N - 1)).
    z = torch.ones(4, 3)
    assert NTXentLoss(0.5)(z, z).item() == pytest.approx(math.log(2 * 4 - 1), rel=1e-6)


def test_orthogonal_pairs_exact_value():
    # z1[i] = z2[i] = e_i: positive similarity 1, the 2N - 2 negatives 0.
    n, tau = 3, 0.5
    z = torch.eye(n)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * n - 2))
    assert NTXentLoss(tau)(z, z).item() == pytest.approx(expected, rel=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        NTXentLoss(0.0)
    with pytest.raises(ValueError, match="same shape"):
        NTXentLoss()(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least 2"):
        NTXentLoss()(torch.randn(1, 3), torch.randn(1, 3))


@pytest.mark.parametrize("loss_class", [NTXentLoss, DecoupledContrastiveLoss])
def test_gradient_pulls_positives_together(loss_class):
    torch.manual_seed(0)
    z1 = torch.randn(8, 4, requires_grad=True)
    z2 = torch.randn(8, 4)
    loss_fn = loss_class(0.5)
    before = loss_fn(z1, z2)
    before.backward()
    with torch.no_grad():
        stepped = z1 - 0.5 * z1.grad
    assert loss_fn(stepped, z2) < before
