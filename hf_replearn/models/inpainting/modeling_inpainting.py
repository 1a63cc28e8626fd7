"""The context encoder as a PreTrainedModel: masked image -> encoder -> decoder -> the missing region.

    L_rec = || M * (x - F((1 - M) * x)) ||^2 / |M|      (Pathak et al. 2016, Eq. 1; M = 1 where removed)
    L_adv = log D(x) + log(1 - D(F((1 - M) * x)))      (Eq. 2), weighted by lambda_adv

With ``adversarial_weight`` > 0 a small discriminator D judges completed images. Both players train in
one optimizer step: D's loss uses the completion detached, and the encoder-decoder's adversarial term
runs D with detached parameters (``torch.func.functional_call``), so each loss moves only its player.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.models.autoencoder.modeling_autoencoder import ConvDecoder
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel
from hf_replearn.models.inpainting.configuration_inpainting import InpaintingConfig


@dataclass
class InpaintingOutput(ModelOutput):
    """
    loss: (1 - lambda_adv) L_rec + lambda_adv L_adv (+ the discriminator's loss when adversarial).
    representations: h = f(x) of the unmasked images, (B, D_h), only when no loss is computed.
    reconstructions: completed images (B, C, H, W) in [0, 1]; masks: (B, 1, H, W), 1 where removed.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    reconstructions: torch.FloatTensor | None = None
    masks: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None


def make_masks(batch: int, size: int, kind: str, fraction: float, device=None, generator=None) -> torch.Tensor:
    """(B, 1, S, S) float masks, 1 on the removed region."""
    side = max(1, round(size * fraction**0.5))
    if kind == "random_region":
        # Smooth noise at 1/4 resolution, upsampled, thresholded at its (1 - fraction) quantile per image.
        noise = torch.rand(batch, 1, max(2, size // 4), max(2, size // 4), generator=generator)
        noise = F.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)
        cut = noise.flatten(1).quantile(1 - fraction, dim=1)[:, None, None, None]
        return (noise > cut).float().to(device)
    if kind == "central":
        top = left = torch.full((batch,), (size - side) // 2)
    else:
        top, left = (torch.randint(0, size - side + 1, (batch,), generator=generator) for _ in range(2))
    r = torch.arange(size)
    rows = (r[None] >= top[:, None]) & (r[None] < top[:, None] + side)  # (B, S)
    cols = (r[None] >= left[:, None]) & (r[None] < left[:, None] + side)
    return (rows[:, :, None] & cols[:, None, :]).float()[:, None].to(device)


class InpaintingModel(ImagePreTrainedModel):
    config_class = InpaintingConfig
    base_model_prefix = "inpainting"

    def __init__(self, config: InpaintingConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        self.decoder = ConvDecoder(config, self.encoder.output_dim)
        self.discriminator = None
        if config.adversarial_weight > 0:
            widths = list(config.widths)
            self.discriminator = nn.Sequential(
                nn.Conv2d(config.num_channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(widths[0], widths[-1], 4, 2, 1), nn.LeakyReLU(0.2),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], 1),
            )  # fmt: skip
        self.post_init()

    def complete(self, pixel_values: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Fill the masked region of each image; (B, C, H, W) in [0, 1], masks (B, 1, H, W)."""
        filled = pixel_values * (1 - masks)  # removed pixels set to 0 (the paper: the dataset mean)
        prediction = torch.sigmoid(self.decoder(self.encoder(filled)))
        return pixel_values * (1 - masks) + prediction * masks

    def forward(self, pixel_values: torch.Tensor, masks: torch.Tensor | None = None, **kwargs) -> InpaintingOutput:
        cfg = self.config
        if masks is None:
            masks = make_masks(len(pixel_values), pixel_values.shape[-1], cfg.mask, cfg.mask_fraction, pixel_values.device)
        filled = pixel_values * (1 - masks)
        prediction = torch.sigmoid(self.decoder(self.encoder(filled)))  # (B, C, H, W)
        completed = filled + prediction * masks
        rec = ((prediction - pixel_values) ** 2 * masks).sum() / (masks.sum() * pixel_values.shape[1]).clamp(min=1)
        loss = rec
        if self.discriminator is not None:
            lam = cfg.adversarial_weight
            frozen = {k: v.detach() for k, v in self.discriminator.named_parameters()}
            fake_for_g = torch.func.functional_call(self.discriminator, frozen, (completed,))
            g_adv = F.binary_cross_entropy_with_logits(fake_for_g, torch.ones_like(fake_for_g))
            real, fake = self.discriminator(pixel_values), self.discriminator(completed.detach())
            d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
                fake, torch.zeros_like(fake)
            )
            loss = (1 - lam) * rec + lam * g_adv + d_loss
        return InpaintingOutput(loss=loss, reconstructions=completed, masks=masks, reconstruction_loss=rec)
