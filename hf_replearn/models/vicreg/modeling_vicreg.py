"""VICReg as a PreTrainedModel: encoder f, expander h, the variance-invariance-covariance loss on two views."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.losses.vicreg import VICRegLoss
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel
from hf_replearn.models.vicreg.configuration_vicreg import VICRegConfig


@dataclass
class VICRegOutput(ModelOutput):
    """
    loss: the VICReg loss of the two views (only when ``pixel_values_2`` is given).
    representations: y = f(x) of the first view, (B, D_y): what downstream tasks use.
    embeddings: z = h(y) of the first view, (B, D_z).
    embeddings_2: z of the second view, (B, D_z), when given.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    embeddings: torch.FloatTensor | None = None
    embeddings_2: torch.FloatTensor | None = None


class VICRegModel(ImagePreTrainedModel):
    config_class = VICRegConfig
    base_model_prefix = "vicreg"

    def __init__(self, config: VICRegConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        # h: (Linear -> BN -> ReLU) for every layer but the last, then a Linear (the paper's expander).
        layers, d_in = [], self.encoder.output_dim
        for width in config.expander_dims[:-1]:
            layers += [nn.Linear(d_in, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
            d_in = width
        self.expander = nn.Sequential(*layers, nn.Linear(d_in, config.expander_dims[-1]))
        self.loss_fn = VICRegLoss(config.invariance_weight, config.variance_weight, config.covariance_weight)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, pixel_values_2: torch.Tensor | None = None, **kwargs) -> VICRegOutput:
        if pixel_values_2 is None:
            y = self.encoder(pixel_values)
            return VICRegOutput(representations=y, embeddings=self.expander(y))
        n = len(pixel_values)
        # Both views in one pass: BatchNorm statistics over 2N images.
        y = self.encoder(torch.cat([pixel_values, pixel_values_2]))
        z1, z2 = self.expander(y).split(n)
        return VICRegOutput(loss=self.loss_fn(z1, z2), representations=y[:n], embeddings=z1, embeddings_2=z2)
