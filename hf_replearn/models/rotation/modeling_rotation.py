"""Rotation prediction as a PreTrainedModel: every image in 4 rotations, a 4-way classifier on h = f(x)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel
from hf_replearn.models.rotation.configuration_rotation import RotationConfig


@dataclass
class RotationOutput(ModelOutput):
    """
    loss: cross-entropy of the rotation classifier over all R rotations of the batch.
    representations: h = f(x) of the unrotated images, (B, D_h).
    logits: (R*B, R) rotation logits; rotation_labels: (R*B,) the rotation index of each row.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    rotation_labels: torch.LongTensor | None = None


def rotate_batch(x: torch.Tensor, num_rotations: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> the batch rotated by r * 360/R degrees for r = 0..R-1, (R*B, C, H, W), and labels r."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotation prediction needs square images, got {tuple(x.shape[-2:])}; set data.image_size")
    step = 4 // num_rotations  # quarter turns between rotations: 1 for R = 4, 2 for R = 2
    rotated = torch.cat([torch.rot90(x, r * step, dims=(-2, -1)) for r in range(num_rotations)])
    labels = torch.arange(num_rotations, device=x.device).repeat_interleave(len(x))
    return rotated, labels


class RotationModel(ImagePreTrainedModel):
    config_class = RotationConfig
    base_model_prefix = "rotation"

    def __init__(self, config: RotationConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        self.classifier = nn.Sequential(nn.Dropout(config.classifier_dropout), nn.Linear(self.encoder.output_dim, config.num_rotations))
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> RotationOutput:
        # All rotations of an image in one batch, as in the paper (it found this better than one per image).
        x, labels = rotate_batch(pixel_values, self.config.num_rotations)
        h = self.encoder(x)  # (R*B, D_h)
        logits = self.classifier(h)
        loss = nn.functional.cross_entropy(logits.float(), labels)
        return RotationOutput(loss=loss, representations=h[: len(pixel_values)], logits=logits, rotation_labels=labels)
