"""MoCo as a PreTrainedModel: query encoder, momentum key encoder, queue, InfoNCE (Algorithm 1 of the paper).

    q = g_q(f_q(x_q))            # (N, C) queries, with gradients
    k = g_k(f_k(x_k)).detach()   # (N, C) keys from the momentum encoder, BN shuffled
    loss = InfoNCE(q, k, queue)  # (1 + K)-way softmax, positive first
    enqueue(k); dequeue oldest   # after the loss
    theta_k <- m theta_k + (1 - m) theta_q   # after each optimizer step (MomentumUpdateCallback)

``key_mechanism`` swaps the key supplier (``keys.py``) for the paper's Figure 3 comparison.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_replearn.losses.infonce import InfoNCELoss
from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder import ImagePreTrainedModel
from hf_replearn.models.moco.configuration_moco import MoCoConfig
from hf_replearn.models.moco.distributed import grouped_forward, shuffled_key_forward
from hf_replearn.models.moco.keys import BatchKeys, KeyQueue, MemoryBank


@dataclass
class MoCoOutput(ModelOutput):
    """
    loss: InfoNCE (only when a second view, or for ``memory_bank`` a ``sample_index``, is given).
    representations: h = f_q(x) of the first view, (B, D_h): what downstream tasks use.
    queries: q = g_q(h), (B, C). key_embeddings: k of the second view, (B, C), when computed (not named
    ``keys``: a ModelOutput is a dict, and a field ``keys`` hides ``dict.keys()``, which DDP calls).
    logits: (B, 1 + K) InfoNCE logits, positive first.
    """

    loss: torch.FloatTensor | None = None
    representations: torch.FloatTensor | None = None
    queries: torch.FloatTensor | None = None
    key_embeddings: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None


def projection_head(config: MoCoConfig, dim_h: int) -> nn.Module:
    if not config.mlp_head:  # v1: one linear layer
        return nn.Linear(dim_h, config.projection_dim)
    hidden = config.projection_hidden_dim or dim_h  # v2: Linear -> ReLU -> Linear
    return nn.Sequential(nn.Linear(dim_h, hidden), nn.ReLU(), nn.Linear(hidden, config.projection_dim))


class MoCoModel(ImagePreTrainedModel):
    config_class = MoCoConfig
    base_model_prefix = "moco"

    def __init__(self, config: MoCoConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        dim_h = self.encoder.output_dim
        self.head = projection_head(config, dim_h)
        self.loss_fn = InfoNCELoss(config.contrastive_temperature)
        if config.key_mechanism == "moco":
            self.keys = KeyQueue(config.queue_size, config.projection_dim)
        elif config.key_mechanism == "memory_bank":
            self.keys = MemoryBank(config.memory_bank_size, config.projection_dim, config.queue_size, config.memory_bank_momentum)
        else:
            self.keys = BatchKeys()
        self.post_init()
        if config.key_mechanism == "moco":
            # theta_k starts as a copy of theta_q and is never touched by the optimizer.
            self.key_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
            self.key_head = copy.deepcopy(self.head).requires_grad_(False)

    def _query_pairs(self):
        return [(self.key_encoder, self.encoder), (self.key_head, self.head)]

    @torch.no_grad()
    def copy_query_to_key(self) -> None:
        """theta_k <- theta_q, frozen: for a model whose encoders were changed after construction (LoRA wraps
        both, each with its own random A). Two encoders wrapped differently raise (load_state_dict's RuntimeError)."""
        for key_module, query_module in self._query_pairs():
            key_module.load_state_dict(query_module.state_dict())
            key_module.requires_grad_(False)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """theta_k <- m theta_k + (1 - m) theta_q (Eq. 2 of the paper); call after each optimizer step."""
        if self.config.key_mechanism != "moco":
            return
        m = self.config.momentum
        for key_module, query_module in self._query_pairs():
            for p_k, p_q in zip(key_module.parameters(), query_module.parameters()):
                p_k.mul_(m).add_(p_q.detach(), alpha=1 - m)

    def _encode(self, x):
        return self.head(self.encoder(x))

    def forward(self, pixel_values, pixel_values_2=None, sample_index=None, **kwargs) -> MoCoOutput:
        groups = self.config.shuffle_bn_groups
        h = grouped_forward(self.encoder, pixel_values, groups)  # (N, D_h)
        q = self.head(h)  # (N, C)
        mechanism = self.config.key_mechanism
        if mechanism == "memory_bank":
            if sample_index is None:
                return MoCoOutput(representations=h, queries=q)
            k = self.keys.positives(sample_index)
            negatives, mask = self.keys.negatives(sample_index)
        elif pixel_values_2 is None:
            return MoCoOutput(representations=h, queries=q)
        elif mechanism == "moco":
            k = shuffled_key_forward(lambda x: self.key_head(self.key_encoder(x)), pixel_values_2, groups)
            negatives, mask = self.keys.negatives(k)
        else:  # end_to_end: the same encoder, with gradients, on the second view
            k = grouped_forward(self._encode, pixel_values_2, groups)
            negatives, mask = self.keys.negatives(k)
        loss, logits = self.loss_fn(q, k, negatives, mask, return_logits=True)
        if self.training:
            if mechanism == "moco":
                self.keys.enqueue(k)
            elif mechanism == "memory_bank":
                self.keys.update(sample_index, q)
        return MoCoOutput(loss=loss, representations=h, queries=q, key_embeddings=k, logits=logits)
