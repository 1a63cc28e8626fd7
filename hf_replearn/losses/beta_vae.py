"""The beta-VAE objective: reconstruction plus beta times the KL divergence to the prior.

Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework",
ICLR 2017, Eq. (4); beta = 1 is the VAE of Kingma & Welling (2014). With an encoder q(z|x) =
N(mu, diag(exp(logvar))), prior p(z) = N(0, I) and a decoder p(x|z) (Bernoulli over pixels here, as in
the paper's dSprites experiments, or Gaussian with unit variance = squared error / 2),

    L(x) = -E_q[log p(x|z)] + beta * KL(q(z|x) || p(z)),
    KL   = 1/2 sum_j ( mu_j^2 + exp(logvar_j) - logvar_j - 1 ),

summed over pixels and latents, averaged over the batch. beta > 1 presses the latents towards the
factorised prior, trading reconstruction for disentanglement (the paper uses beta = 4 on dSprites).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, (B, L) -> (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


class BetaVAELoss(nn.Module):
    """Args:
        beta: weight of the KL term, >= 0 (1: the plain VAE).
        reconstruction: ``bernoulli`` (decoder outputs logits; binary cross-entropy) or ``gaussian``
            (decoder outputs means; squared error / 2).

    Shapes: logits (B, ...), target (B, ...) in [0, 1], mu and logvar (B, L). Returns (loss, recon, kl),
    each averaged over the batch.
    """

    def __init__(self, beta: float = 1.0, reconstruction: str = "bernoulli"):
        super().__init__()
        if not beta >= 0:
            raise ValueError(f"BetaVAELoss beta must be >= 0 (1 is the plain VAE, the paper uses 4 on dSprites), got {beta}")
        if reconstruction not in ("bernoulli", "gaussian"):
            raise ValueError(f"BetaVAELoss reconstruction must be 'bernoulli' or 'gaussian', got {reconstruction!r}")
        self.beta = float(beta)
        self.reconstruction = reconstruction

    def forward(self, logits, target, mu, logvar):
        if self.reconstruction == "bernoulli":
            recon = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
        else:
            recon = 0.5 * (logits.float() - target.float()).pow(2)
        recon = recon.flatten(1).sum(dim=1).mean()
        kl = gaussian_kl(mu.float(), logvar.float()).mean()
        return recon + self.beta * kl, recon, kl
