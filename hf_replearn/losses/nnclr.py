"""NNCLR: contrastive loss with each view's nearest neighbour in a support set as its positive.

Dwibedi, Aytar, Tompson, Sermanet, Zisserman, "With a Little Help from My Friends: Nearest-Neighbor Contrastive
Learning of Visual Representations", ICCV 2021, Eq. 2. With z_i, z_i^+ the normalised projections of two views of
sample i, Q a support set of earlier projections and NN(z, Q) = argmax_{q in Q} z.q (no gradient), the loss of
sample i over a batch of N is

    L_i = -log( exp(NN(z_i, Q) . z_i^+ / tau) / sum_{k=1..N} exp(NN(z_i, Q) . z_k^+ / tau) )

and the loss is symmetrised over the two views (the paper's Algorithm 1: half with NN(z1) against z2, half with
NN(z2) against z1). The neighbour is another image the model already finds close, often of the same class, so
the positives carry more than the augmentations do: the paper reports its largest gains with few labels.

Under P processes each holding B samples, the candidates z^+ of the denominator are every process's views
(gathered with gradient, as in NT-Xent) and each process averages over its own anchors. The support set (a FIFO
of the first view's projections, filled after each step) is kept by the model; this module only reads it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.losses.checks import check_paired_batch
from hf_replearn.utils.distributed import gather_with_grad, world


class NNCLRLoss(nn.Module):
    """NNCLR's loss.

    Args:
        temperature: tau > 0 (the paper: 0.1 at batch 4096).
        gather_distributed: under several processes, take the denominator's candidates from every process.

    Shapes:
        z1, z2: (N, D), z1[i] and z2[i] the two views of sample i; support: (M, D) earlier projections (unit
        rows). Returns a scalar.
    """

    def __init__(self, temperature: float = 0.1, gather_distributed: bool = True):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"{type(self).__name__} temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.gather_distributed = gather_distributed

    @staticmethod
    @torch.no_grad()
    def nearest_neighbours(z: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        """For each row of ``z`` (N, D), the row of ``support`` (M, D, unit rows) with the largest cosine similarity."""
        return support[(z @ support.T).argmax(dim=1)]  # a row's norm does not change which support row it is closest to

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        check_paired_batch(type(self).__name__, z1, z2)
        if support.ndim != 2 or support.shape[1] != z1.shape[1] or len(support) == 0:
            raise ValueError(f"{type(self).__name__} support set must be (M, {z1.shape[1]}) with M >= 1, got "
                             f"{tuple(support.shape)}")
        z1, z2 = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
        support = F.normalize(support.float(), dim=1)  # once for both views
        rank, _ = world() if self.gather_distributed else (0, 1)
        all1 = gather_with_grad(z1) if self.gather_distributed else z1  # (P*N, D)
        all2 = gather_with_grad(z2) if self.gather_distributed else z2
        own = rank * len(z1) + torch.arange(len(z1), device=z1.device)  # this process's samples among the candidates
        nn1, nn2 = self.nearest_neighbours(z1, support), self.nearest_neighbours(z2, support)
        loss_12 = F.cross_entropy(nn1 @ all2.T / self.temperature, own)
        loss_21 = F.cross_entropy(nn2 @ all1.T / self.temperature, own)
        return (loss_12 + loss_21) / 2
