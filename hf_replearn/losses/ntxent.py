"""NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR.

Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020, Algorithm 1. For a batch of N samples with two views each (2N embeddings),
with sim(u, v) = u.v / (|u| |v|) and temperature tau, the loss of the positive pair (i, j) is

    l(i, j) = -log( exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau) )

where k runs over the other 2N - 1 embeddings (the positive and the 2N - 2 negatives). The batch loss is
the mean of l over all 2N anchors: L = 1/(2N) sum_k [l(2k-1, 2k) + l(2k, 2k-1)].

Under P processes each holding B samples, the negatives are the embeddings of all P*B samples (gathered
with gradient, ``utils/distributed.py``) and each process averages over its own 2B anchors, so the
mean over processes is the loss of one batch of N = P*B.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.losses.checks import check_paired_batch
from hf_replearn.utils.distributed import gather_with_grad, world


class NTXentLoss(nn.Module):
    """SimCLR's NT-Xent loss.

    Args:
        temperature: tau > 0. The paper's default for its batch sizes is 0.5 (Table 5 uses 0.1-1.0).
        gather_distributed: under several processes, take negatives from every process's batch.

    Shapes:
        z1, z2: (N, D), where z1[i] and z2[i] are the two views of sample i. Returns a scalar.
    """

    def __init__(self, temperature: float = 0.5, gather_distributed: bool = True):
        super().__init__()
        self.gather_distributed = gather_distributed
        if not temperature > 0:
            raise ValueError(f"{type(self).__name__} temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        logits, positives = self.anchor_logits(z1, z2)
        return F.cross_entropy(logits, positives)

    def anchor_logits(self, z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(2n, 2N) float32 logits sim / tau of this process's anchors against every candidate, each anchor's own
        column at -inf, and the (2n,) column of each anchor's positive."""
        check_paired_batch(type(self).__name__, z1, z2)
        n = z1.shape[0]
        rank, _ = world() if self.gather_distributed else (0, 1)
        all1 = gather_with_grad(z1) if self.gather_distributed else z1  # (N, D), N = n * processes
        all2 = gather_with_grad(z2) if self.gather_distributed else z2
        big_n = all1.shape[0]
        candidates = F.normalize(torch.cat([all1, all2]), dim=1)  # (2N, D): view 1 of all, then view 2
        anchors = F.normalize(torch.cat([z1, z2]), dim=1)  # (2n, D): this process's anchors
        logits = anchors @ candidates.T / self.temperature  # (2n, 2N) cosine similarities over tau
        # Global positions of this process's view-1 and view-2 rows among the candidates.
        own1 = rank * n + torch.arange(n, device=z1.device)
        own2 = big_n + own1
        rows = torch.arange(2 * n, device=z1.device)
        # An anchor is never its own negative: drop it from the softmax denominator.
        logits = logits.float().index_put((rows, torch.cat([own1, own2])), torch.tensor(float("-inf"), device=z1.device))
        # The positive of a view-1 anchor is its view 2, and the other way round.
        return logits, torch.cat([own2, own1])
