"""Image encoders f(.) shared by every image model family (SimCLR, and later MoCo, pretext tasks).

``build_image_encoder(config)`` returns a module mapping (B, C, H, W) images in [0, 1] to (B, D)
representations h. Two kinds:

- the built-in small ResNet (He et al. 2016, basic blocks), sized for 8x8 to 96x96 inputs: a 3x3 stem
  without max-pooling (as SimCLR's CIFAR variant, Appendix B.9; ``stem_stride=2`` halves the resolution
  there, which makes wider stages affordable on a CPU), ``len(widths)`` stages of
  ``blocks_per_stage`` basic blocks, stride 2 between stages, global average pooling;
- any transformers vision backbone by name or path (``config.backbone``), built from its config
  (``backbone_pretrained=True`` loads its weights instead), pooled to one vector; the built backbone's config
  is written into ``config.backbone_architecture``, so that a saved model loads without the backbone's source.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, num_channels: int, widths: list[int], blocks_per_stage: int, stem_stride: int = 1):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(num_channels, widths[0], 3, stem_stride, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        blocks, c_in = [], widths[0]
        for i, width in enumerate(widths):
            for j in range(blocks_per_stage):
                blocks.append(BasicBlock(c_in, width, stride=2 if i > 0 and j == 0 else 1))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.output_dim = widths[-1]
        self.stage_ends = [(i + 1) * blocks_per_stage - 1 for i in range(len(widths))]
        """Index in ``blocks`` of each stage's last block: its output is that stage's feature map."""

    def features(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """(the last stage's map (B, widths[-1], H', W'), its global average (B, widths[-1]))."""
        feature_map = self.blocks(self.stem(x))
        return feature_map, feature_map.mean(dim=(2, 3))

    def forward(self, x):  # (B, C, H, W) -> (B, widths[-1])
        return self.features(x)[1]


def not_a_vision_model(config) -> str | None:
    """Why a transformers model of ``config`` cannot be an image encoder here (its base model takes no
    ``pixel_values``: a GPT-2, a BERT), or None when it can (or its class is not known without running its code)."""
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    if type(config) not in MODEL_MAPPING:
        return None
    model_class = MODEL_MAPPING[type(config)]
    if "pixel_values" in inspect.signature(model_class.forward).parameters:
        return None
    return f"a {config.model_type} model ({model_class.__name__}) takes no images (its forward has no pixel_values)"


class HFBackbone(nn.Module):
    """A transformers vision model used as f(.): its pooled output, or the mean of its last hidden state.

    Built from ``config.backbone`` (a folder or hub id: its config, and its weights with ``backbone_pretrained``),
    then the built model's config is written into ``config.backbone_architecture`` and ``backbone_pretrained`` is
    cleared: a saved model carries its backbone's architecture in its own config.json and its weights in its own
    checkpoint, so it loads without the backbone's folder or hub id (and ``from_pretrained``, which builds the
    model before loading its weights, never loads the backbone's weights a second time).
    """

    def __init__(self, config):
        super().__init__()
        from transformers import AutoConfig, AutoModel
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        saved = getattr(config, "backbone_architecture", None)
        remote = config.trust_remote_code
        if saved and saved.get("model_type") in CONFIG_MAPPING:
            fields = dict(saved)
            self.model = AutoModel.from_config(AutoConfig.for_model(fields.pop("model_type"), **fields))
        elif config.backbone_pretrained:
            self.model = AutoModel.from_pretrained(config.backbone, trust_remote_code=remote)
            config.backbone_normalization = processor_normalization(config.backbone, remote)
        else:  # a remote-code backbone's architecture is rebuilt through its own code, from its folder or hub id
            cfg = AutoConfig.from_pretrained(config.backbone, trust_remote_code=remote)
            if hasattr(cfg, "num_channels"):
                cfg.num_channels = config.num_channels
            self.model = AutoModel.from_config(cfg, trust_remote_code=remote)
        problem = not_a_vision_model(self.model.config)
        if problem:
            from hf_replearn.errors import UserError

            raise UserError(f"model.backbone={config.backbone!r}: {problem}; give a transformers vision model "
                            "(ViT, DINOv2, ResNet, ConvNeXt, ...)")
        config.backbone_architecture = self.model.config.to_dict()
        config.backbone_pretrained = False
        cfg = self.model.config
        # Grey images go to a colour backbone (an ImageNet ResNet or ViT on Fashion-MNIST) as three equal channels,
        # as the probe feeds them; any other mismatch has no such reading.
        self.in_channels = getattr(cfg, "num_channels", config.num_channels)
        if config.num_channels not in (1, self.in_channels):
            from hf_replearn.errors import UserError

            raise UserError(f"model.backbone={config.backbone!r} takes {self.in_channels}-channel images and the data has "
                            f"{config.num_channels} channels; use a backbone for {config.num_channels}-channel images")
        # Pretrained weights expect their own pixel statistics; the pipeline's images are in [0, 1].
        # Kept as lists, not buffers: transformers builds a model on the meta device before loading its weights,
        # and a non-persistent buffer would come out of that unset.
        norm = getattr(config, "backbone_normalization", None)
        fits = norm and not {len(norm["mean"]), len(norm["std"])} - {1, self.in_channels}
        self.normalization = (norm["mean"], norm["std"]) if fits else None
        self.output_dim = getattr(cfg, "hidden_size", None) or cfg.hidden_sizes[-1]
        # A ViT-style backbone is built for one image size; with its position embeddings interpolated it reads the
        # data's size (a recipe's data.image_size), as ViT fine-tuning at another resolution does.
        accepts = inspect.signature(self.model.forward).parameters
        self._size_kwargs = {"interpolate_pos_encoding": True} if "interpolate_pos_encoding" in accepts else {}

    def features(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """(the model's last hidden state, the pooled (B, D) vector)."""
        if x.shape[1] != self.in_channels:
            x = x.expand(-1, self.in_channels, -1, -1)  # grey -> the backbone's channels (a view, no copy)
        if self.normalization:
            mean, std = (torch.tensor(v, dtype=x.dtype, device=x.device).view(1, -1, 1, 1) for v in self.normalization)
            x = (x - mean) / std
        out = self.model(pixel_values=x, **self._size_kwargs)
        hidden = out.last_hidden_state
        pooled = getattr(out, "pooler_output", None)
        if pooled is None:
            pooled = hidden.mean(dim=1) if hidden.ndim == 3 else hidden.mean(dim=(2, 3))
        return hidden, pooled.flatten(1)

    def forward(self, x):
        return self.features(x)[1]


def processor_normalization(source: str, trust_remote_code: bool = False) -> dict | None:
    """The ``image_mean`` / ``image_std`` of the image processor saved beside a model ({"mean", "std"}), or None
    when there is none or it does not normalise."""
    from transformers import AutoImageProcessor

    try:
        processor = AutoImageProcessor.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError):
        return None
    mean, std = getattr(processor, "image_mean", None), getattr(processor, "image_std", None)
    if not getattr(processor, "do_normalize", False) or mean is None or std is None:
        return None
    as_list = lambda v: [float(x) for x in v] if isinstance(v, (list, tuple)) else [float(v)]  # noqa: E731
    return {"mean": as_list(mean), "std": as_list(std)}


def build_image_encoder(config) -> nn.Module:
    if config.backbone:
        return HFBackbone(config)
    return SmallResNet(config.num_channels, list(config.widths), config.blocks_per_stage, config.stem_stride)


def feature_map_size(config) -> int:
    """Side of the small ResNet's last feature map: each 3x3 conv with padding 1 and stride s maps H to ceil(H / s)."""
    side = -(-config.image_size // config.stem_stride)
    for _ in config.widths[1:]:
        side = -(-side // 2)
    return side
