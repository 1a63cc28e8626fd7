"""Skip-gram negative-sampling loss (Mikolov et al. 2013, "Distributed Representations of Words and
Phrases and their Compositionality", eq. 4).

For a centre word c with input vector v_c, an observed context word o with output vector u_o, and K
noise words w_1..w_K drawn from the unigram distribution raised to the 3/4 (normalised):

    L = -log sigma(u_o . v_c) - sum_{k=1..K} log sigma(-u_{w_k} . v_c)

averaged over the pairs of a batch. Shapes: v_c (B, D), u_o (B, D), u_neg (B, K, D) -> scalar.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SGNSLoss(nn.Module):
    """``reduction``: ``mean`` (over pairs; the default) or ``sum`` (word2vec.c's per-pair SGD scale)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def forward(self, v_center: torch.Tensor, u_context: torch.Tensor, u_negative: torch.Tensor) -> torch.Tensor:
        positive = (v_center * u_context).sum(-1)  # (B,)
        negative = torch.einsum("bd,bkd->bk", v_center, u_negative)  # (B, K)
        per_pair = -F.logsigmoid(positive) - F.logsigmoid(-negative).sum(-1)  # (B,)
        return per_pair.mean() if self.reduction == "mean" else per_pair.sum()
