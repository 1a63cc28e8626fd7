"""Configuration of rotation prediction (Gidaris, Singh, Komodakis, ICLR 2018)."""

from __future__ import annotations

from hf_replearn.models.image_encoder import ImageEncoderConfig


class RotationConfig(ImageEncoderConfig):
    """RotNet: predict which of 0, 90, 180, 270 degrees an image was rotated by, from h = f(x).

    Args (besides the encoder's, see `ImageEncoderConfig`):
        num_rotations (`int`, defaults to 4): 4 (multiples of 90 degrees, the paper's best) or 2 (0, 180).
        classifier_dropout (`float`, defaults to 0.0): dropout on h before the rotation classifier.
    """

    model_type = "rotation"

    def __init__(self, num_rotations: int = 4, classifier_dropout: float = 0.0, **kwargs):
        if num_rotations not in (2, 4):
            raise ValueError(f"RotationConfig num_rotations must be 4 (0/90/180/270 degrees) or 2 (0/180), got {num_rotations}")
        self.num_rotations = num_rotations
        self.classifier_dropout = classifier_dropout
        super().__init__(**kwargs)
