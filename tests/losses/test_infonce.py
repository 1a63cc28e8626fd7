import math

import pytest
import torch
import torch.nn.functional as F

from hf_replearn.losses.infonce import InfoNCELoss


def naive_infonce(q, k, negatives, tau, mask=None):
    """The paper's Eq. (1), one query at a time."""
    total = 0.0
    for i in range(len(q)):
        qi, ki = F.normalize(q[i], dim=0), F.normalize(k[i], dim=0)
        pos = math.exp(float(qi @ ki) / tau)
        neg = sum(
            math.exp(float(qi @ F.normalize(n, dim=0)) / tau)
            for j, n in enumerate(negatives)
            if mask is None or not mask[i, j]
        )
        total += -math.log(pos / (pos + neg))
    return total / len(q)


def test_matches_a_naive_loop_over_the_queue():
    g = torch.Generator().manual_seed(0)
    q, k, queue = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g), torch.randn(12, 8, generator=g)
    loss = InfoNCELoss(0.07)(q, k, queue)
    assert loss.item() == pytest.approx(naive_infonce(q, k, queue, 0.07), rel=1e-5)


def test_masked_negatives_match_the_naive_loop():
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    mask = torch.eye(4, dtype=torch.bool)  # end-to-end: other keys of the batch are the negatives
    loss = InfoNCELoss(0.2)(q, k, k, mask)
    assert loss.item() == pytest.approx(naive_infonce(q, k, k, 0.2, mask), rel=1e-5)


def test_exact_values():
    # q == k and negatives orthogonal to q: -log(e^(1/tau) / (e^(1/tau) + K))
    q = torch.eye(3, 4)
    negatives = torch.zeros(5, 4)
    negatives[:, 3] = 1.0
    tau = 0.5
    expected = -math.log(math.exp(2) / (math.exp(2) + 5))
    assert InfoNCELoss(tau)(q, q.clone(), negatives).item() == pytest.approx(expected, rel=1e-6)
    # everything equal: chance, log(K + 1)
    same = torch.ones(3, 4)
    assert InfoNCELoss(tau)(same, same, torch.ones(7, 4)).item() == pytest.approx(math.log(8), rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        InfoNCELoss(0)
    with pytest.raises(ValueError, match="negatives"):
        InfoNCELoss()(torch.randn(2, 3), torch.randn(2, 3), torch.randn(4, 5))
