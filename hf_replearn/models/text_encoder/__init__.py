from hf_replearn.models.text_encoder.configuration_text_encoder import POOLINGS, TextEncoderConfig
from hf_replearn.models.text_encoder.modeling_text_encoder import TextEncoderModel

__all__ = ["POOLINGS", "TextEncoderConfig", "TextEncoderModel"]
