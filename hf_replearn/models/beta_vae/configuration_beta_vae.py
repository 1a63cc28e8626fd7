"""Configuration of the beta-VAE (Higgins et al. 2017)."""

from __future__ import annotations

from hf_replearn.models.autoencoder.configuration_autoencoder import AutoencoderConfig


class BetaVAEConfig(AutoencoderConfig):
    """A VAE with a Gaussian posterior N(mu, exp(logvar)) and the KL term weighted by beta.

    Args (besides the autoencoder's, see `AutoencoderConfig`):
        beta (`float`, defaults to 4.0): weight of the KL term (1: the plain VAE).
        latent_dim (`int`, defaults to 10): dimension of z (the paper's dSprites setting).
    """

    model_type = "beta_vae"

    def __init__(self, beta: float = 4.0, latent_dim: int = 10, **kwargs):
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0 (1 is the plain VAE, the paper uses 4 on dSprites), got {beta}")
        self.beta = beta
        super().__init__(latent_dim=latent_dim, **kwargs)
