"""Relative patch position as a PreTrainedModel: a shared encoder on two patches, an 8-way classifier."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.models.context.configuration_context import ContextConfig
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel

# The 8 neighbours of the centre cell (1, 1) of the 3x3 grid, in reading order: label = index.
NEIGHBOURS = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]


@dataclass
class ContextOutput(ModelOutput):
    """
    loss: 8-way cross-entropy of the neighbour's position.
    representations: h = f(x) of the whole images, (B, D_h), only when no loss is computed.
    logits: (B, 8); position_labels: (B,) the index in ``NEIGHBOURS`` of each sampled neighbour.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    position_labels: torch.LongTensor | None = None


def crop(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int) -> torch.Tensor:
    """Per-example crops: x (B, C, H, W), top/left (B,) -> (B, C, size, size)."""
    rows = (top[:, None] + torch.arange(size, device=x.device))[:, :, None]  # (B, size, 1)
    cols = (left[:, None] + torch.arange(size, device=x.device))[:, None, :]  # (B, 1, size)
    batch = torch.arange(len(x), device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def sample_patch_pairs(x: torch.Tensor, config: ContextConfig, generator=None):
    """(centre patches, neighbour patches, labels) for a batch: one random neighbour per image."""
    b, p, g = len(x), config.patch_size, config.gap
    span = 3 * p + 2 * g
    slack = x.shape[-1] - span

    def rand(high, n=b):  # integers in [0, high]
        return torch.randint(0, high + 1, (n,), generator=generator).to(x.device)

    top0, left0 = rand(slack), rand(slack)  # where the grid starts
    labels = torch.randint(0, 8, (b,), generator=generator).to(x.device)
    cells = torch.tensor(NEIGHBOURS, device=x.device)[labels]  # (B, 2): row, column of the neighbour

    def cell_origin(row, col):
        j = config.jitter
        return (top0 + row * (p + g) + j - rand(2 * j) if j else top0 + row * (p + g),
                left0 + col * (p + g) + j - rand(2 * j) if j else left0 + col * (p + g))  # fmt: skip

    one = torch.ones(b, dtype=torch.long, device=x.device)
    centre = crop(x, *_clamp(cell_origin(one, one), x.shape[-1] - p), p)
    neighbour = crop(x, *_clamp(cell_origin(cells[:, 0], cells[:, 1]), x.shape[-1] - p), p)
    return centre, neighbour, labels


def _clamp(origin, high):
    return tuple(o.clamp(0, high) for o in origin)


class ContextModel(ImagePreTrainedModel):
    config_class = ContextConfig
    base_model_prefix = "context"

    def __init__(self, config: ContextConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        d, hidden = self.encoder.output_dim, config.classifier_hidden_dim
        self.classifier = nn.Sequential(nn.Linear(2 * d, hidden), nn.ReLU(), nn.Linear(hidden, 8))
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> ContextOutput:
        centre, neighbour, labels = sample_patch_pairs(pixel_values, self.config)
        h = self.encoder(torch.cat([centre, neighbour]))  # one pass, (2B, D_h)
        h_centre, h_neighbour = h.chunk(2)
        logits = self.classifier(torch.cat([h_centre, h_neighbour], dim=1))  # (B, 8)
        loss = nn.functional.cross_entropy(logits.float(), labels)
        return ContextOutput(loss=loss, logits=logits, position_labels=labels)
