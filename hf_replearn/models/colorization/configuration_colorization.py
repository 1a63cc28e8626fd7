"""Configuration of colorization as a pretext task (Zhang, Isola, Efros, ECCV 2016)."""

from __future__ import annotations

from hf_replearn.models.image_encoder import ImageEncoderConfig


class ColorizationConfig(ImageEncoderConfig):
    """Predict the colour channels (a, b of CIE Lab) from the lightness L; the encoder sees L only.

    Zhang et al. classify a, b into 313 quantised bins with class rebalancing; this model regresses a, b
    with the squared error (the paper's L2 baseline, which gives desaturated colours but the same
    pretext signal for the encoder). ``num_channels`` is the input images' (3: RGB); the encoder takes 1.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        ab_scale (`float`, defaults to 110.0): a, b are divided by this to lie in about [-1, 1].
    """

    model_type = "colorization"

    def __init__(self, ab_scale: float = 110.0, num_channels: int = 3, **kwargs):
        super().__init__(num_channels=num_channels, **kwargs)
        if self.num_channels != 3:
            raise ValueError(
                f"colorization needs colour (3-channel RGB) images, got num_channels={self.num_channels}; "
                "use the colour emoji set (data.name=emoji) or another RGB dataset"
            )
        self.ab_scale = ab_scale
