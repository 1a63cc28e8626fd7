"""The ``PreTrainedModel`` base of every image model family: weight init, input name, the representation.

A family's model builds its encoder f as ``self.encoder`` (``models/encoders.build_image_encoder``) and
adds its heads; ``get_representation`` returns h = f(x), which the probes read (a family whose
representation is something else, the beta-VAE's posterior mean, overrides it).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPooling

from hf_replearn.models.encoders import build_image_encoder
from hf_replearn.models.image_encoder.configuration_image_encoder import ImageEncoderConfig


class ImagePreTrainedModel(PreTrainedModel):
    config_class = ImageEncoderConfig
    base_model_prefix = "image_encoder"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        # He init for convolutions (ReLU networks), PyTorch's default for linears, identity BatchNorm.
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=5**0.5)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def get_representation(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """h = f(x), (B, C, H, W) -> (B, D_h): what downstream tasks and the probes use (heads discarded)."""
        return self.encoder(pixel_values)


class ImageEncoderModel(ImagePreTrainedModel):
    """The bare encoder f as an ``AutoModel`` (model_type ``image_encoder``): no head, no loss.

    Its output is what transformers' vision towers return: ``pooler_output`` is h = f(x), (B, D_h), and
    ``last_hidden_state`` the small ResNet's last feature map, (B, D_h, H', W') (a ``backbone``'s own last hidden state).
    So it serves as the image tower of ``VisionTextDualEncoderModel``, which reads ``pooler_output`` and the
    config's ``hidden_size``.
    """

    def __init__(self, config: ImageEncoderConfig):
        super().__init__(config)
        self.encoder = build_image_encoder(config)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, return_dict: bool = True, **kwargs) -> BaseModelOutputWithPooling:
        hidden, pooled = self.encoder.features(pixel_values)
        return BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled)
