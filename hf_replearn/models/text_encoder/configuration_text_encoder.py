"""Configuration of a text encoder: any transformers text model with its token states pooled into one vector."""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig

POOLINGS = ("mean", "cls")


class TextEncoderConfig(PreTrainedConfig):
    """A transformers text model (BERT, RoBERTa, MiniLM, ...) and how its last hidden states become one vector.

    Args:
        backbone_config (`dict` or `PreTrainedConfig`, *optional*): config of the text model; empty: BERT's defaults.
        pooling (`str`, defaults to `"mean"`): ``mean``, the mean of the token states under the attention mask
            (how sentence-transformers models such as all-MiniLM-L6-v2 are trained), or ``cls``, the first token's.
    """

    model_type = "text_encoder"
    sub_configs = {"backbone_config": AutoConfig}

    def __init__(self, backbone_config: dict | PreTrainedConfig | None = None, pooling: str = "mean", **kwargs):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        if backbone_config is None:
            backbone_config = AutoConfig.for_model("bert")
        elif isinstance(backbone_config, dict):
            backbone_config = AutoConfig.for_model(**backbone_config)
        self.backbone_config = backbone_config
        self.pooling = pooling
        super().__init__(**kwargs)

    @property
    def hidden_size(self) -> int:
        """Dimension of the pooled vector: the backbone's width (what a dual encoder reads off its text tower)."""
        return self.backbone_config.hidden_size
