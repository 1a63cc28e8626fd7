"""Colorization as a PreTrainedModel: L -> encoder -> decoder -> (a, b), squared error in Lab space."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from hf_replearn.models.autoencoder.modeling_autoencoder import ConvDecoder
from hf_replearn.models.colorization.configuration_colorization import ColorizationConfig
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel


@dataclass
class ColorizationOutput(ModelOutput):
    """
    loss: mean squared error of the predicted (a, b) / ab_scale.
    representations: h = f(L), (B, D_h). colorized: RGB images from L and the predicted a, b, (B, 3, H, W).
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    colorized: torch.FloatTensor | None = None


class ColorizationModel(ImagePreTrainedModel):
    config_class = ColorizationConfig
    base_model_prefix = "colorization"

    def __init__(self, config: ColorizationConfig):
        super().__init__(config)
        grey = copy.copy(config)
        grey.num_channels = 1  # the encoder sees lightness only
        self.encoder = build_image_encoder(grey)
        ab = copy.copy(config)
        ab.num_channels = 2  # the decoder predicts a and b
        self.decoder = ConvDecoder(ab, self.encoder.output_dim)
        self.post_init()

    @staticmethod
    def lab(pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB in [0, 1] (B, 3, H, W) -> (L / 100 (B, 1, H, W), ab (B, 2, H, W) in Lab units)."""
        from kornia.color import rgb_to_lab

        lab = rgb_to_lab(pixel_values.clamp(0, 1))
        return lab[:, :1] / 100, lab[:, 1:]

    def get_representation(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.lab(pixel_values)[0])

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> ColorizationOutput:
        from kornia.color import lab_to_rgb

        if pixel_values.shape[1] != 3:
            raise ValueError(f"colorization needs RGB images (B, 3, H, W), got {tuple(pixel_values.shape)}")
        lightness, ab = self.lab(pixel_values)
        h = self.encoder(lightness)
        predicted = torch.tanh(self.decoder(h))  # (B, 2, H, W), ab / ab_scale
        loss = torch.nn.functional.mse_loss(predicted.float(), ab.float() / self.config.ab_scale)
        with torch.no_grad():
            colorized = lab_to_rgb(torch.cat([lightness * 100, predicted * self.config.ab_scale], dim=1)).clamp(0, 1)
        return ColorizationOutput(loss=loss, representations=h, colorized=colorized)
