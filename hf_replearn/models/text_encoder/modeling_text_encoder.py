"""A text encoder as a PreTrainedModel: a transformers text model whose pooled output is one vector per text.

Transformers' text models pool with their own head (BERT: tanh of a dense layer on [CLS]), which is not what
sentence-embedding models are trained to give; ``TextEncoderModel`` pools the last hidden states itself
(``TextEncoderConfig.pooling``), so that it serves as the text tower of ``VisionTextDualEncoderModel``, which
reads ``pooler_output``.
"""

from __future__ import annotations

import torch
from transformers import AutoModel, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPooling

from hf_replearn.models.text_encoder.configuration_text_encoder import TextEncoderConfig


class TextEncoderModel(PreTrainedModel):
    config_class = TextEncoderConfig
    base_model_prefix = "text_encoder"
    main_input_name = "input_ids"

    def __init__(self, config: TextEncoderConfig):
        super().__init__(config)
        self.backbone = AutoModel.from_config(config.backbone_config)
        self.post_init()

    def _init_weights(self, module):
        pass  # the backbone initialises its own layers; this class adds none

    @classmethod
    def from_backbone(cls, name_or_path: str, pooling: str = "mean", trust_remote_code: bool = False) -> "TextEncoderModel":
        """A ``TextEncoderModel`` around the pretrained text model ``name_or_path`` (its weights, not only its config)."""
        backbone = AutoModel.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        model = cls(TextEncoderConfig(backbone_config=backbone.config, pooling=pooling))
        model.backbone = backbone
        return model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                return_dict: bool = True, **kwargs) -> BaseModelOutputWithPooling:  # fmt: skip
        optional = {"token_type_ids": token_type_ids, "position_ids": position_ids}
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask,
                               **{k: v for k, v in optional.items() if v is not None}).last_hidden_state  # fmt: skip
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
            mask = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled)
