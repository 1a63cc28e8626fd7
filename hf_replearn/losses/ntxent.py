"""NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR.

Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020, Algorithm 1. For a batch of N samples with two views each (2N embeddings),
with sim(u, v) = u.v / (|u| |v|) and temperature tau, the loss of the positive pair (i, j) is

    l(i, j) = -log( exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau) )

where k runs over the other 2N - 1 embeddings (the positive and the 2N - 2 negatives). The batch loss is
the mean of l over all 2N anchors: L = 1/(2N) sum_k [l(2k-1, 2k) + l(2k, 2k-1)].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NTXentLoss(nn.Module):
    """SimCLR's NT-Xent loss.

    Args:
        temperature: tau > 0. The paper's default for its batch sizes is 0.5 (Table 5 uses 0.1-1.0).

    Shapes:
        z1, z2: (N, D), where z1[i] and z2[i] are the two views of sample i. Returns a scalar.
    """

    def __init__(self, temperature: float = 0.5):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"NTXentLoss temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        if z1.ndim != 2 or z1.shape != z2.shape:
            raise ValueError(
                f"NTXentLoss expects two (N, D) tensors of the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
            )
        if z1.shape[0] < 2:
            raise ValueError("NTXentLoss needs at least 2 samples per batch (one positive, some negatives)")
        n = z1.shape[0]
        z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D)
        logits = z @ z.T / self.temperature  # (2N, 2N) cosine similarities over tau
        # An anchor is never its own negative: drop the diagonal from the softmax denominator.
        logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        # The positive of row i is i + N (first half) or i - N (second half).
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
        return F.cross_entropy(logits.float(), targets)
