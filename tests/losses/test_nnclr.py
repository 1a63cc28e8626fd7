import math

import pytest
import torch

from hf_replearn.losses.nnclr import NNCLRLoss
from tests.losses.naive import naive_nnclr


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_matches_naive_loop(tau):
    g = torch.Generator().manual_seed(0)
    z1, z2, support = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g), torch.randn(20, 5, generator=g)
    assert NNCLRLoss(tau)(z1, z2, support).item() == pytest.approx(naive_nnclr(z1, z2, support, tau), rel=1e-5)


def test_neighbour_of_a_view_is_its_closest_support_row_and_carries_no_gradient():
    support = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    z = torch.tensor([[0.9, 0.2], [0.1, 3.0], [-2.0, 0.5]], requires_grad=True)
    nn = NNCLRLoss.nearest_neighbours(z, support)
    torch.testing.assert_close(nn, support)  # each row picks the support row it points along
    assert not nn.requires_grad


def test_exact_value_when_the_support_holds_the_other_views():
    # z1 = z2 = e_i and the support holds e_i: NN(z_i) . z_i^+ = 1, the other N - 1 products 0 in both halves.
    n, tau = 4, 0.5
    z = torch.eye(n)
    expected = -1 / tau + math.log(math.exp(1 / tau) + n - 1)
    assert NNCLRLoss(tau)(z, z, z.flip(0)).item() == pytest.approx(expected, rel=1e-6)


def test_gradient_reaches_the_views_but_not_the_support():
    g = torch.Generator().manual_seed(2)
    z1 = torch.randn(5, 3, generator=g, requires_grad=True)
    z2 = torch.randn(5, 3, generator=g, requires_grad=True)
    support = torch.randn(9, 3, generator=g, requires_grad=True)
    NNCLRLoss(0.2)(z1, z2, support).backward()
    assert z1.grad.abs().sum() > 0 and z2.grad.abs().sum() > 0
    assert support.grad is None


def test_bad_input_raises_naming_the_loss():
    with pytest.raises(ValueError, match="NNCLRLoss.*same shape"):
        NNCLRLoss()(torch.randn(4, 3), torch.randn(5, 3), torch.randn(8, 3))
    with pytest.raises(ValueError, match=r"NNCLRLoss support set must be \(M, 3\)"):
        NNCLRLoss()(torch.randn(4, 3), torch.randn(4, 3), torch.randn(8, 2))
    with pytest.raises(ValueError, match="NNCLRLoss temperature must be > 0"):
        NNCLRLoss(-1.0)
