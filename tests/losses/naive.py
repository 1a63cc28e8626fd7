"""Reference losses written as the papers' loops over anchors, for the vectorised losses' tests."""

import math

import torch
import torch.nn.functional as F


def naive_contrastive(z1: torch.Tensor, z2: torch.Tensor, tau: float, decoupled: bool = False) -> float:
    """The mean over the 2N anchors of -log(exp(sim(i, j) / tau) / sum_k exp(sim(i, k) / tau)), j the anchor's other
    view and k every other embedding: SimCLR's NT-Xent (Algorithm 1); ``decoupled``: k also skips j, DCL's Eq. 6."""
    z = [F.normalize(v, dim=0) for v in torch.cat([z1, z2])]
    n2 = len(z)
    n = n2 // 2

    def sim(a, b):
        return float(z[a] @ z[b])

    def ell(i, j):
        denom = sum(math.exp(sim(i, k) / tau) for k in range(n2) if k != i and not (decoupled and k == j))
        return -math.log(math.exp(sim(i, j) / tau) / denom)

    return sum(ell(k, k + n) + ell(k + n, k) for k in range(n)) / n2


def naive_nnclr(z1: torch.Tensor, z2: torch.Tensor, support: torch.Tensor, tau: float) -> float:
    """NNCLR's Eq. 2 as a loop: for each sample i, its first view's nearest support row (largest cosine) against
    every sample's second view, -log of the softmax at i; the same from the second view; half of each."""
    unit = [[F.normalize(v, dim=0) for v in zs] for zs in (z1, z2, support)]
    n = len(z1)

    def neighbour(v):
        return max(unit[2], key=lambda q: float(v @ q))

    def half(a, b):
        total = 0.0
        for i in range(n):
            nn = neighbour(unit[a][i])
            logits = [float(nn @ unit[b][k]) / tau for k in range(n)]
            total -= logits[i] - math.log(sum(math.exp(x) for x in logits))
        return total / n

    return (half(0, 1) + half(1, 0)) / 2
