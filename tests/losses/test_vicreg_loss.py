import math

import pytest
import torch

from hf_replearn.losses.vicreg import VICRegLoss


def naive_vicreg(z1, z2, lam=25.0, mu=25.0, nu=1.0, gamma=1.0, eps=1e-4):
    """The paper's three terms (Eq. 1-5) as loops over samples and dimensions, in plain Python floats."""
    a, b = z1.tolist(), z2.tolist()
    n, d = len(a), len(a[0])

    def mean(col):
        return sum(col) / len(col)

    def variance_term(z):
        total = 0.0
        for j in range(d):
            col = [z[i][j] for i in range(n)]
            var = sum((x - mean(col)) ** 2 for x in col) / (n - 1)
            total += max(0.0, gamma - math.sqrt(var + eps))
        return total / d

    def covariance_term(z):
        means = [mean([z[i][j] for i in range(n)]) for j in range(d)]
        total = 0.0
        for j in range(d):
            for k in range(d):
                if j != k:
                    c = sum((z[i][j] - means[j]) * (z[i][k] - means[k]) for i in range(n)) / (n - 1)
                    total += c * c
        return total / d

    invariance = sum((a[i][j] - b[i][j]) ** 2 for i in range(n) for j in range(d)) / (n * d)
    return lam * invariance + mu * (variance_term(a) + variance_term(b)) / 2 + nu * (covariance_term(a) + covariance_term(b))


@pytest.mark.parametrize("weights", [(25.0, 25.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])
def test_matches_naive_loops(weights):
    g = torch.Generator().manual_seed(0)
    z1, z2 = 0.5 * torch.randn(7, 4, generator=g), 0.5 * torch.randn(7, 4, generator=g)
    assert VICRegLoss(*weights)(z1, z2).item() == pytest.approx(naive_vicreg(z1, z2, *weights), rel=1e-5)


def test_hand_values():
    # Two views equal, every dimension of unit-or-more spread and uncorrelated: each term is zero.
    z = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    assert VICRegLoss()(z, z).item() == pytest.approx(0.0, abs=1e-6)
    # A collapsed batch (every embedding the same): no invariance or covariance cost, the full variance cost.
    c = torch.ones(5, 3)
    assert VICRegLoss()(c, c).item() == pytest.approx(25.0 * (1.0 - math.sqrt(1e-4)), rel=1e-6)


def test_the_gradient_spreads_a_collapsed_batch():
    z = (torch.ones(8, 4) + 1e-3 * torch.randn(8, 4, generator=torch.Generator().manual_seed(1))).requires_grad_()
    VICRegLoss()(z, z.detach()).backward()
    spread_before = z.detach().std(0).mean()
    spread_after = (z.detach() - 0.1 * z.grad).std(0).mean()
    assert spread_after > spread_before


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="weights must be >= 0"):
        VICRegLoss(variance_weight=-1)
    with pytest.raises(ValueError, match="same shape"):
        VICRegLoss()(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"at least 2 samples per batch \(the variance of one sample is undefined\)"):
        VICRegLoss()(torch.zeros(1, 3), torch.zeros(1, 3))
