"""VICReg: variance-invariance-covariance regularization of the embeddings of two views.

Bardes, Ponce, LeCun, "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning",
ICLR 2022, Sec. 3. For the embeddings Z, Z' (n, d) of two views of n images:

    l(Z, Z') = lambda s(Z, Z') + mu [v(Z) + v(Z')] / 2 + nu [c(Z) + c(Z')]

    s(Z, Z') = 1/(n d) sum_i ||z_i - z'_i||^2                           invariance (Eq. 5)
    v(Z)     = 1/d sum_j max(0, gamma - sqrt(Var(z^j) + eps))             variance, per dimension j (Eq. 1)
    c(Z)     = 1/d sum_{i != j} C(Z)_ij^2,  C(Z) = 1/(n-1) sum_i (z_i - zbar)(z_i - zbar)^T   covariance (Eq. 3-4)

with lambda = mu = 25, nu = 1, gamma = 1, eps = 1e-4. No negatives: the variance term keeps each dimension
alive (no collapse to a constant), the covariance term decorrelates the dimensions (no collapse to a line), so
a small batch works as well as a large one. The normalisation is the authors' released code's (the invariance
term a mean over n and d; the two variance terms averaged), the one its coefficients were chosen for.

Under P processes the statistics are those of the whole batch: the embeddings are gathered with gradient
(``utils/distributed.py``) and every process computes the loss of all P*B samples, so P processes x batch B
train like one process x batch P*B.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.losses.checks import check_paired_batch
from hf_replearn.utils.distributed import gather_with_grad


class VICRegLoss(nn.Module):
    """VICReg's loss of two views' embeddings.

    Args:
        invariance_weight: lambda >= 0. variance_weight: mu >= 0. covariance_weight: nu >= 0.
        gather_distributed: under several processes, compute the statistics over every process's batch.

    Shapes:
        z1, z2: (N, D) with N >= 2. Returns a scalar.
    """

    gamma = 1.0
    eps = 1e-4

    def __init__(self, invariance_weight: float = 25.0, variance_weight: float = 25.0, covariance_weight: float = 1.0,
                 gather_distributed: bool = True):  # fmt: skip
        super().__init__()
        weights = (invariance_weight, variance_weight, covariance_weight)
        if any(not w >= 0 for w in weights):
            raise ValueError(f"VICRegLoss weights must be >= 0, got {weights}")
        self.invariance_weight, self.variance_weight, self.covariance_weight = map(float, weights)
        self.gather_distributed = gather_distributed

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        check_paired_batch("VICRegLoss", z1, z2, why="the variance of one sample is undefined")
        if self.gather_distributed:
            z1, z2 = gather_with_grad(z1), gather_with_grad(z2)
        z1, z2 = z1.float(), z2.float()  # statistics in fp32 under bf16 autocast
        invariance = F.mse_loss(z1, z2)
        variance = (self._variance(z1) + self._variance(z2)) / 2
        covariance = self._covariance(z1) + self._covariance(z2)
        return self.invariance_weight * invariance + self.variance_weight * variance + self.covariance_weight * covariance

    def _variance(self, z: torch.Tensor) -> torch.Tensor:
        return F.relu(self.gamma - torch.sqrt(z.var(dim=0) + self.eps)).mean()

    @staticmethod
    def _covariance(z: torch.Tensor) -> torch.Tensor:
        n, d = z.shape
        z = z - z.mean(dim=0)
        cov = (z.T @ z) / (n - 1)
        return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d
