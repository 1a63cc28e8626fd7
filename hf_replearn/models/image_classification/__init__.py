from hf_replearn.models.image_classification.configuration_image_classification import ImageClassifierConfig
from hf_replearn.models.image_classification.modeling_image_classification import (
    ImageEncoderForImageClassification,
    load_encoder_weights,
)

__all__ = ["ImageClassifierConfig", "ImageEncoderForImageClassification", "load_encoder_weights"]
