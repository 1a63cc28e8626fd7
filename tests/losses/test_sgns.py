import math

import pytest
import torch

from hf_replearn.losses.sgns import SGNSLoss


def test_against_naive_loop():
    g = torch.Generator().manual_seed(0)
    v, u, neg = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g), torch.randn(4, 3, 8, generator=g)
    naive = 0.0
    for b in range(4):
        naive += -math.log(1 / (1 + math.exp(-(v[b] @ u[b]).item())))
        for k in range(3):
            naive += -math.log(1 / (1 + math.exp((v[b] @ neg[b, k]).item())))
    assert SGNSLoss(reduction="sum")(v, u, neg).item() == pytest.approx(naive, rel=1e-5)
    assert SGNSLoss()(v, u, neg).item() == pytest.approx(naive / 4, rel=1e-5)


def test_zero_output_vectors_give_k_plus_one_log_two():
    loss = SGNSLoss()(torch.randn(2, 5), torch.zeros(2, 5), torch.zeros(2, 7, 5))
    assert loss.item() == pytest.approx(8 * math.log(2))


def test_bad_reduction():
    with pytest.raises(ValueError):
        SGNSLoss(reduction="max")
