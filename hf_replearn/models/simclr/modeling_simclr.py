"""SimCLR as a PreTrainedModel: encoder f, projection head g, NT-Xent on two views (and any local crops)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.losses.dcl import DecoupledContrastiveLoss
from hf_replearn.losses.multicrop_ntxent import MultiCropNTXentLoss
from hf_replearn.losses.nnclr import NNCLRLoss
from hf_replearn.losses.ntxent import NTXentLoss
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel
from hf_replearn.models.moco.keys import KeyQueue
from hf_replearn.models.simclr.configuration_simclr import SimCLRConfig


@dataclass
class SimCLROutput(ModelOutput):
    """
    loss: NT-Xent over the two views (only when ``pixel_values_2`` is given).
    representations: h = f(x) of the first view, (B, D_h): what downstream tasks use.
    projections: z = g(h) of the first view, (B, D_z).
    projections_2: z of the second view, (B, D_z), when given.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    projections: torch.FloatTensor | None = None
    projections_2: torch.FloatTensor | None = None


class SimCLRModel(ImagePreTrainedModel):
    config_class = SimCLRConfig
    base_model_prefix = "simclr"

    def __init__(self, config: SimCLRConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        dim_h = self.encoder.output_dim
        hidden = config.projection_hidden_dim or dim_h
        # g: Linear -> BN -> ReLU -> Linear (the paper's 2-layer MLP; BN as in its released code).
        self.projection = nn.Sequential(
            nn.Linear(dim_h, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, config.projection_dim)
        )
        two_view_loss = {"ntxent": NTXentLoss, "dcl": DecoupledContrastiveLoss, "nnclr": NNCLRLoss}[config.contrastive_loss]
        self.loss_fn = two_view_loss(config.contrastive_temperature)
        # NNCLR's support set: a FIFO of the first view's projections, MoCo's queue (a buffer, so checkpoints keep it).
        self.support = (KeyQueue(config.support_set_size, config.projection_dim, "SimCLR support_set_size")
                        if config.contrastive_loss == "nnclr" else None)  # fmt: skip
        self.multicrop_loss_fn = MultiCropNTXentLoss(config.contrastive_temperature)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        pixel_values_2: torch.Tensor | None = None,
        pixel_values_local: torch.Tensor | None = None,
        **kwargs,
    ) -> SimCLROutput:
        """``pixel_values_local``: (V, N, C, s, s), V small local crops of each image (multi-crop), with both
        global views given; the loss is then the multi-positive NT-Xent (``losses/multicrop_ntxent.py``)."""
        if pixel_values_2 is None:
            if pixel_values_local is not None:
                raise ValueError("SimCLRModel: pixel_values_local needs both global views (pixel_values_2)")
            h = self.encoder(pixel_values)
            return SimCLROutput(representations=h, projections=self.projection(h))
        n = len(pixel_values)
        # Both views in one pass: BatchNorm statistics over 2N images, as in the paper.
        h = self.encoder(torch.cat([pixel_values, pixel_values_2]))
        if pixel_values_local is None:
            z = self.projection(h)
            z1, z2 = z.chunk(2)
            if self.support is None:
                loss = self.loss_fn(z1, z2)
            else:
                loss = self.loss_fn(z1, z2, self.support.queue)
                if self.training:
                    self.support.enqueue(z1)
            return SimCLROutput(loss=loss, representations=h[:n], projections=z1, projections_2=z2)
        # Local crops in a pass of their own (another resolution), then one projection over every view.
        h_local = self.encoder(pixel_values_local.flatten(0, 1))
        z = self.projection(torch.cat([h, h_local]))
        views = list(z.split(n))
        loss = self.multicrop_loss_fn(views)
        return SimCLROutput(loss=loss, representations=h[:n], projections=views[0], projections_2=views[1])
