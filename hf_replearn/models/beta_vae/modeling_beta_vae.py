"""The beta-VAE as a PreTrainedModel: encoder -> (mu, logvar) -> z = mu + sigma * eps -> decoder."""

from __future__ import annotations

import torch

from hf_replearn.losses.beta_vae import BetaVAELoss
from hf_replearn.models.autoencoder.modeling_autoencoder import AutoencoderModel, AutoencoderOutput, build_encoder_decoder
from hf_replearn.models.beta_vae.configuration_beta_vae import BetaVAEConfig


class BetaVAEModel(AutoencoderModel):
    config_class = BetaVAEConfig
    base_model_prefix = "beta_vae"

    def __init__(self, config: BetaVAEConfig):
        super(AutoencoderModel, self).__init__(config)
        self.encoder, self.decoder = build_encoder_decoder(config, 2 * config.latent_dim)  # mu and logvar
        self.loss_fn = BetaVAELoss(config.beta, config.reconstruction)
        self.post_init()

    def encode(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(pixel_values).chunk(2, dim=1)  # (B, L) each
        return mu, logvar.clamp(-20, 10)

    def get_representation(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu, (B, L)."""
        return self.encode(pixel_values)[0]

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> AutoencoderOutput:
        mu, logvar = self.encode(pixel_values)
        # The reparameterisation trick (Kingma & Welling 2014): z = mu + sigma * eps, eps ~ N(0, I).
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        recon = self.decoder(z)
        loss, rec, kl = self.loss_fn(recon, pixel_values, mu, logvar)
        return AutoencoderOutput(loss=loss, representations=mu, reconstructions=recon, logvar=logvar,
                                 reconstruction_loss=rec, kl=kl)  # fmt: skip
