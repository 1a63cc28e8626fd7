"""The autoencoder as a PreTrainedModel, and the encoder/decoder pieces the beta-VAE reuses."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.losses.beta_vae import BetaVAELoss
from hf_replearn.models.autoencoder.configuration_autoencoder import AutoencoderConfig
from hf_replearn.models.encoders import build_image_encoder, feature_map_size
from hf_replearn.models.image_encoder import ImagePreTrainedModel


@dataclass
class AutoencoderOutput(ModelOutput):
    """
    loss: reconstruction loss (summed over pixels, mean over the batch; plus beta * KL for the beta-VAE).
    representations: the code z (the posterior mean mu for the beta-VAE), (B, L).
    reconstructions: decoder output, (B, C, H, W): logits for ``bernoulli``, means for ``gaussian``.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    reconstructions: torch.FloatTensor | None = None
    logvar: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    kl: torch.FloatTensor | None = None


class ConvDecoder(nn.Module):
    """z (B, L) -> (B, C, H, W): a linear map to the encoder's last feature map, then one 4x4 stride-2
    transposed convolution per encoder stage, mirroring its widths."""

    def __init__(self, config, latent_dim: int):
        super().__init__()
        widths = list(config.widths)
        self.bottom = feature_map_size(config)
        self.widths = widths
        self.image_size = config.image_size
        self.fc = nn.Linear(latent_dim, widths[-1] * self.bottom**2)
        ups = []
        for c_in, c_out in zip(widths[::-1], widths[::-1][1:]):
            ups += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        if config.stem_stride == 2:  # undo the stem's stride too
            ups += [nn.ConvTranspose2d(widths[0], widths[0], 4, 2, 1), nn.BatchNorm2d(widths[0]), nn.ReLU()]
        self.ups = nn.Sequential(*ups)
        self.out = nn.Conv2d(widths[0], config.num_channels, 3, 1, 1)

    def forward(self, z):
        x = torch.relu(self.fc(z)).view(len(z), self.widths[-1], self.bottom, self.bottom)
        x = self.out(self.ups(x))
        if x.shape[-1] != self.image_size:  # odd sizes: 7 -> 14 -> 28 is exact, 25 -> 13 -> 7 -> 28 is not
            x = nn.functional.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return x


def build_encoder_decoder(config, code_dim: int):
    """(encoder x -> (B, code_dim), decoder z (B, latent_dim) -> x_hat) for ``config.architecture``."""
    pixels = config.num_channels * config.image_size**2
    if config.architecture == "linear":
        encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, code_dim))
        shape = (config.num_channels, config.image_size, config.image_size)
        decoder = nn.Sequential(nn.Linear(config.latent_dim, pixels), nn.Unflatten(1, shape))
        return encoder, decoder
    trunk = build_image_encoder(config)
    return nn.Sequential(trunk, nn.Linear(trunk.output_dim, code_dim)), ConvDecoder(config, config.latent_dim)


class AutoencoderModel(ImagePreTrainedModel):
    config_class = AutoencoderConfig
    base_model_prefix = "autoencoder"

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        if config.architecture == "linear" and config.reconstruction != "gaussian":
            raise ValueError("a linear autoencoder reconstructs with squared error: set reconstruction='gaussian'")
        self.encoder, self.decoder = build_encoder_decoder(config, config.latent_dim)
        self.loss_fn = BetaVAELoss(beta=0.0, reconstruction=config.reconstruction)  # beta = 0: no KL term
        self.post_init()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, L) -> images (B, C, H, W) in [0, 1] (sigmoid of the logits for ``bernoulli``)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.reconstruction == "bernoulli" else out.clamp(0, 1)

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> AutoencoderOutput:
        z = self.encoder(pixel_values)  # (B, L)
        recon = self.decoder(z)  # (B, C, H, W)
        loss, rec, _ = self.loss_fn(recon, pixel_values, z, torch.zeros_like(z))
        return AutoencoderOutput(loss=loss, representations=z, reconstructions=recon, reconstruction_loss=rec)
