from hf_replearn.models.image_encoder.configuration_image_encoder import (
    BACKBONE_FIELDS,
    BACKBONE_RECORD,
    DATA_FIELDS,
    SMALL_RESNET_FIELDS,
    ImageEncoderConfig,
)
from hf_replearn.models.image_encoder.modeling_image_encoder import ImageEncoderModel, ImagePreTrainedModel

__all__ = ["BACKBONE_FIELDS", "BACKBONE_RECORD", "DATA_FIELDS", "SMALL_RESNET_FIELDS", "ImageEncoderConfig", "ImageEncoderModel", "ImagePreTrainedModel"]
