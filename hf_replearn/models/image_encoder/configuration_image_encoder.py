"""Configuration of the image encoder f that every image model family builds on (see ``models/encoders.py``).

Each image family's config (SimCLR, MoCo, rotation, context, inpainting, colorization, autoencoder,
beta-VAE) subclasses ``ImageEncoderConfig`` and adds its own fields; every field is documented once, in
the ``Args:`` section of the class that introduces it, and a recipe's ``model`` section is derived from
these (``hf_replearn/recipe_sections.py``).
"""

from __future__ import annotations

from transformers import PreTrainedConfig

DATA_FIELDS = ("num_channels", "image_size")
"""Fields a task reads off its dataset, not off the recipe's ``model`` section."""
BACKBONE_FIELDS = ("backbone", "backbone_pretrained", "trust_remote_code")
"""Fields that swap the small ResNet for a transformers vision model."""
BACKBONE_RECORD = ("backbone_architecture", "backbone_normalization")
"""What a built backbone writes into the config (``models/encoders.HFBackbone``): a model of the same encoder carries
them over."""
SMALL_RESNET_FIELDS = ("widths", "blocks_per_stage", "stem_stride")
"""The small ResNet's sizes, which a model with a ``backbone`` does not use."""


class ImageEncoderConfig(PreTrainedConfig):
    """Fields of the image encoder f shared by the image model families.

    Args:
        num_channels (`int`, defaults to 1): channels of the input images.
        image_size (`int`, defaults to 32): side of the (square) input images.
        widths (`list[int]`, defaults to `[32, 64, 128]`): channels of each ResNet stage; the
            representation h has ``widths[-1]`` dimensions.
        blocks_per_stage (`int`, defaults to 1): basic blocks per stage.
        stem_stride (`int`, defaults to 1): stride of the stem convolution, 1 or 2 (2 halves the resolution
            at the stem, so that every stage costs a quarter).
        backbone (`str`, *optional*): a transformers vision model name or path to use as f instead of the
            small ResNet.
        backbone_pretrained (`bool`, defaults to `False`): load the backbone's weights, not only its config.
        trust_remote_code (`bool`, defaults to `False`): allow the backbone's own code to run.

    A model built with a ``backbone`` also holds ``backbone_architecture``: the backbone's own config as a dict,
    written when the backbone is built (``models/encoders.HFBackbone``) and read back when a saved model loads;
    and, for pretrained weights saved with an image processor that normalises, ``backbone_normalization``: its
    ``{"mean": [...], "std": [...]}``, applied to the [0, 1] pixels before the backbone.
    """

    model_type = "image_encoder"

    def __init__(
        self,
        num_channels: int = 1,
        image_size: int = 32,
        widths: list[int] = [32, 64, 128],  # copied below, never mutated
        blocks_per_stage: int = 1,
        stem_stride: int = 1,
        backbone: str | None = None,
        backbone_pretrained: bool = False,
        trust_remote_code: bool = False,
        **kwargs,
    ):
        self.num_channels = num_channels
        self.image_size = image_size
        self.widths = list(widths)
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

    @property
    def hidden_size(self) -> int:
        """Dimension of h, ``widths[-1]`` (the name other transformers models read off a vision tower's config)."""
        if self.backbone:
            raise AttributeError(f"hidden_size of a {self.model_type} config with backbone={self.backbone!r} is the backbone's: "
                                 "read it off the loaded model's encoder.output_dim")
        return self.widths[-1]
