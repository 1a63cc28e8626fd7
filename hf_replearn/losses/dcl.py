"""DCL, the decoupled contrastive loss: NT-Xent without the positive pair in the denominator.

Yeh, Hong, Hsu, Liu, Chen, LeCun, "Decoupled Contrastive Learning", ECCV 2022, Eq. 6. With the notation of
``ntxent.py`` (2N embeddings, sim the cosine similarity, tau the temperature), the loss of anchor i with positive j is

    l_DC(i, j) = -sim(z_i, z_j) / tau + log sum_{k not in {i, j}} exp(sim(z_i, z_k) / tau)

The NT-Xent gradient carries a factor 1 - p_ij (p_ij the softmax weight of the positive; the paper's
"negative-positive coupling"): when the views of a sample already agree, their gradient shrinks, and it shrinks
most with few negatives to compete, so small batches learn slowly. Taking the positive out of the sum removes the
factor. The batch loss is the mean over the 2N anchors, and negatives are gathered across processes as in NT-Xent.
"""

from __future__ import annotations

import torch

from hf_replearn.losses.ntxent import NTXentLoss


class DecoupledContrastiveLoss(NTXentLoss):
    """DCL: NT-Xent's logits, with each anchor's positive dropped from its denominator.

    Args and shapes as `NTXentLoss`: z1, z2 (N, D), z1[i] and z2[i] the two views of sample i; returns a scalar.
    """

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        logits, positives = self.anchor_logits(z1, z2)
        rows = torch.arange(len(logits), device=logits.device)
        positive = logits[rows, positives]
        negatives = logits.index_put((rows, positives), torch.tensor(float("-inf"), device=logits.device))
        return (torch.logsumexp(negatives, dim=1) - positive).mean()
