"""Configuration of SimCLR (Chen et al. 2020): encoder f, projection head g, NT-Xent temperature."""

from __future__ import annotations

from transformers import PreTrainedConfig


class ImageEncoderConfig(PreTrainedConfig):
    """Fields of the image encoder f shared by the image model families (see ``models/encoders.py``).

    Args:
        num_channels (`int`, defaults to 1): channels of the input images.
        image_size (`int`, defaults to 32): side of the (square) input images.
        widths (`list[int]`, defaults to `[32, 64, 128]`): channels of each ResNet stage; the
            representation h has ``widths[-1]`` dimensions.
        blocks_per_stage (`int`, defaults to 1): basic blocks per stage.
        stem_stride (`int`, defaults to 1): stride of the stem convolution, 1 or 2 (2 quarters the cost of
            every stage, at half the resolution).
        backbone (`str`, *optional*): a transformers vision model name or path to use as f instead.
        backbone_pretrained (`bool`, defaults to `False`): load the backbone's weights, not only its config.
        trust_remote_code (`bool`, defaults to `False`): allow the backbone's own code to run.
    """

    def __init__(
        self,
        num_channels: int = 1,
        image_size: int = 32,
        widths: list[int] | None = None,
        blocks_per_stage: int = 1,
        stem_stride: int = 1,
        backbone: str | None = None,
        backbone_pretrained: bool = False,
        trust_remote_code: bool = False,
        **kwargs,
    ):
        self.num_channels = num_channels
        self.image_size = image_size
        self.widths = list(widths) if widths is not None else [32, 64, 128]
        if not self.widths or any(w <= 0 for w in self.widths):
            raise ValueError(f"widths must be a non-empty list of positive channel counts, got {widths}")
        self.blocks_per_stage = blocks_per_stage
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}")
        self.stem_stride = stem_stride
        self.backbone = backbone
        self.backbone_pretrained = backbone_pretrained
        self.trust_remote_code = trust_remote_code
        super().__init__(**kwargs)


class SimCLRConfig(ImageEncoderConfig):
    """SimCLR: h = f(x), z = g(h) with g a 2-layer MLP, trained with NT-Xent on two augmented views.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        projection_hidden_dim (`int`, *optional*): hidden width of g; defaults to the width of h, as in
            the paper.
        projection_dim (`int`, defaults to 128): dimension of z (the paper uses 128).
        contrastive_temperature (`float`, defaults to 0.5): NT-Xent temperature tau (not named
            `temperature`, which transformers reserves for generation).
    """

    model_type = "simclr"

    def __init__(
        self,
        projection_hidden_dim: int | None = None,
        projection_dim: int = 128,
        contrastive_temperature: float = 0.5,
        **kwargs,
    ):
        self.projection_hidden_dim = projection_hidden_dim
        self.projection_dim = projection_dim
        self.contrastive_temperature = contrastive_temperature
        super().__init__(**kwargs)
