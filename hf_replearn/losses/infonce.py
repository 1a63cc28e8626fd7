"""InfoNCE with one positive key and K negative keys, as used by MoCo.

Oord, Li, Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018; in the form of
He, Fan, Wu, Xie, Girshick, "Momentum Contrast for Unsupervised Visual Representation Learning", CVPR
2020, Eq. (1). For a query q, its positive key k+ and negatives k_1 .. k_K (all L2-normalised),

    L_q = -log( exp(q.k+ / tau) / ( exp(q.k+ / tau) + sum_{i=1..K} exp(q.k_i / tau) ) )

i.e. a (K+1)-way softmax cross-entropy whose correct class is the positive (index 0 of the logits, as in
the paper's Algorithm 1). tau = 0.07 in MoCo v1, 0.2 in v2. The batch loss is the mean over queries.

Where the negatives come from is the job of a key supplier (``models/moco/keys.py``): the queue of past
keys (MoCo), the other keys of the same batch (end-to-end) or entries sampled from a memory bank. This
loss takes them as one (K, D) tensor shared by every query, plus an optional (N, K) mask of negatives
that a query must not see (the end-to-end case: a query's own key is its positive, not a negative).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class InfoNCELoss(nn.Module):
    """MoCo's InfoNCE over 1 positive and K negatives.

    Args:
        temperature: tau > 0 (MoCo v1: 0.07, MoCo v2: 0.2).

    Shapes:
        q: (N, D) queries; k: (N, D) positive keys (k[i] is the positive of q[i]); negatives: (K, D);
        negative_mask: optional bool (N, K), True where negatives[j] must be ignored for q[i].
        Inputs need not be normalised; the loss normalises them. Returns a scalar.
    """

    def __init__(self, temperature: float = 0.07):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"InfoNCELoss temperature must be > 0, got {temperature}; MoCo uses 0.07 (v1) or 0.2 (v2)")
        self.temperature = float(temperature)

    def logits(self, q, k, negatives, negative_mask=None) -> torch.Tensor:
        """(N, 1 + K) logits: column 0 is q.k+, the rest q.k_j, all over tau."""
        if q.ndim != 2 or q.shape != k.shape or negatives.ndim != 2 or negatives.shape[1] != q.shape[1]:
            raise ValueError(
                f"InfoNCELoss expects q, k of shape (N, D) and negatives (K, D); got {tuple(q.shape)}, "
                f"{tuple(k.shape)}, {tuple(negatives.shape)}"
            )
        q, k, negatives = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(negatives, dim=1)
        l_pos = (q * k).sum(dim=1, keepdim=True)  # (N, 1)
        l_neg = q @ negatives.T  # (N, D) x (D, K) -> (N, K)
        if negative_mask is not None:
            l_neg = l_neg.masked_fill(negative_mask, float("-inf"))
        return torch.cat([l_pos, l_neg], dim=1) / self.temperature

    def forward(self, q, k, negatives, negative_mask=None, return_logits: bool = False):
        logits = self.logits(q, k, negatives, negative_mask).float()
        targets = torch.zeros(len(q), dtype=torch.long, device=q.device)  # the positive is class 0
        loss = F.cross_entropy(logits, targets)
        return (loss, logits) if return_logits else loss
