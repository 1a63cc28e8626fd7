"""SimCLR's augmentations as batched tensor operations (kornia), run on the training device.

Chen et al. 2020, Appendix A: random resized crop (scale 0.08-1, aspect 3/4-4/3) with a random
horizontal flip; colour distortion with strength s: colour jitter (brightness 0.8s, contrast 0.8s,
saturation 0.8s, hue 0.2s) applied with p = 0.8, then random grayscale with p = 0.2; Gaussian blur with
sigma in [0.1, 2.0] and a kernel of 10% of the image side, applied with p = 0.5. On one-channel images
only brightness and contrast apply. Batched augmentation beats per-sample PIL by avoiding Python per image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class AugmentConfig:
    """Augmentation parameters; defaults are the SimCLR paper's."""

    crop_scale: list[float] = field(default_factory=lambda: [0.08, 1.0])
    """Area range of the random resized crop, as fractions of the image."""
    crop_ratio: list[float] = field(default_factory=lambda: [3 / 4, 4 / 3])
    """Aspect-ratio range of the crop."""
    flip_p: float = 0.5
    """Probability of a horizontal flip (0 for data where left and right differ, such as digits)."""
    jitter_strength: float = 1.0
    """Colour distortion strength s (the paper uses 1.0 on ImageNet, 0.5 on CIFAR-10)."""
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    """Probability of converting to grayscale (colour images only)."""
    blur_p: float = 0.5
    blur_sigma: list[float] = field(default_factory=lambda: [0.1, 2.0])
    view_size: int | None = None
    """Side of the augmented views in pixels (default: the image's). Smaller views train faster, about
    (view_size / side)^2 of the compute per image; a random resized crop enlarges the object, so at test time the
    full image at its own side shows it at about the size training saw (Touvron et al. 2019, "Fixing the
    train-test resolution discrepancy"). Convolutional encoders only: a ViT's patch grid is fixed."""

    def view_side(self, image_size: int) -> int:
        """The side of a view of an image of side ``image_size``."""
        return self.view_size or image_size

    def validate(self) -> None:
        from hf_replearn.errors import UserError

        if self.view_size is not None and self.view_size < 4:
            raise UserError(f"augment.view_size must be at least 4 pixels (or null: the image's side), got {self.view_size}")

        for name in ("flip_p", "jitter_p", "grayscale_p", "blur_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise UserError(f"augment.{name} is a probability and must lie in [0, 1], got {getattr(self, name)}")
        check_area_range("augment.crop_scale", self.crop_scale)


def check_area_range(key: str, scale: list[float]) -> None:
    """A crop's area range ``[low, high]``, as fractions of the image."""
    from hf_replearn.errors import UserError

    lo, hi = scale
    if not 0 < lo <= hi <= 1:
        raise UserError(f"{key} must be [low, high] with 0 < low <= high <= 1, got {scale}")


@dataclass
class MultiCropConfig:
    """Small local crops added to the two global views (multi-crop, Caron et al. 2020, Sec. 3.2): each local crop
    is a random resized crop of a small part of the image at a low resolution, with the global views' colour
    and blur augmentations; it costs about (size / image side)^2 of a global view."""

    local_crops: int = 0
    """Number of local crops per image (0: two views only, plain SimCLR). SwAV uses 6 on ImageNet."""
    size: int = 14
    """Side of a local crop in pixels (SwAV: 96 for 224-pixel global views)."""
    scale: list[float] = field(default_factory=lambda: [0.1, 0.35])
    """Area range of a local crop, as fractions of the image (SwAV: 0.05-0.14 with global views of 0.14-1)."""

    def validate(self) -> None:
        from hf_replearn.errors import UserError

        if self.local_crops < 0:
            raise UserError(f"multicrop.local_crops must be >= 0, got {self.local_crops}")
        if self.size < 4:
            raise UserError(f"multicrop.size must be at least 4 pixels, got {self.size}")
        check_area_range("multicrop.scale", self.scale)


def build_augmentation(
    cfg: AugmentConfig, image_size: int, num_channels: int, crop_scale: list[float] | None = None
) -> nn.Module:
    """A module mapping a float batch (B, C, H, W) in [0, 1] to an augmented batch (B, C, S, S) in [0, 1], S =
    ``image_size``; ``crop_scale`` replaces ``cfg.crop_scale`` (multi-crop's local crops)."""
    import kornia.augmentation as K

    cfg.validate()
    s = cfg.jitter_strength
    colour = num_channels == 3
    ops = [
        K.RandomResizedCrop((image_size, image_size), scale=tuple(crop_scale or cfg.crop_scale), ratio=tuple(cfg.crop_ratio)),
        K.RandomHorizontalFlip(p=cfg.flip_p),
        K.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s if colour else 0.0, 0.2 * s if colour else 0.0, p=cfg.jitter_p),
    ]
    if colour:
        ops.append(K.RandomGrayscale(p=cfg.grayscale_p))
    kernel = max(3, int(0.1 * image_size) // 2 * 2 + 1)  # odd, about 10% of the side
    ops.append(K.RandomGaussianBlur((kernel, kernel), tuple(cfg.blur_sigma), p=cfg.blur_p))
    return _Clamp(nn.Sequential(*ops))


class _Clamp(nn.Module):
    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).clamp_(0, 1)
