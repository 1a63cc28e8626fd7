import math

import pytest
import torch

from hf_replearn.losses import DecoupledContrastiveLoss, NTXentLoss
from tests.losses.naive import naive_contrastive


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_matches_naive_loop(tau):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert DecoupledContrastiveLoss(tau)(z1, z2).item() == pytest.approx(naive_contrastive(z1, z2, tau, decoupled=True), rel=1e-5)


def test_orthogonal_pairs_exact_value():
    # z1[i] = z2[i] = e_i: the positive's similarity is 1, the 2N - 2 negatives' 0: l = -1 / tau + log(2N - 2).
    n, tau = 3, 0.5
    z = torch.eye(n)
    assert DecoupledContrastiveLoss(tau)(z, z).item() == pytest.approx(-1 / tau + math.log(2 * n - 2), rel=1e-6)


def test_is_ntxent_without_the_coupling_term():
    # l_NT = -pos + log(exp(pos) + sum_neg) and l_DC = -pos + log(sum_neg): l_NT - l_DC = log(1 + exp(pos) / sum_neg) > 0.
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    nt, dc = NTXentLoss(0.5)(z1, z2).item(), DecoupledContrastiveLoss(0.5)(z1, z2).item()
    assert nt > dc
    logits, positives = NTXentLoss(0.5).anchor_logits(z1, z2)
    rows = torch.arange(len(logits))
    pos = logits[rows, positives]
    negatives = logits.index_put((rows, positives), torch.tensor(float("-inf"))).exp().sum(1)
    assert nt - dc == pytest.approx(torch.log1p(pos.exp() / negatives).mean().item(), rel=1e-5)


def test_bad_input_raises_naming_the_loss():
    with pytest.raises(ValueError, match="DecoupledContrastiveLoss.*same shape"):
        DecoupledContrastiveLoss()(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="DecoupledContrastiveLoss temperature must be > 0"):
        DecoupledContrastiveLoss(0.0)
