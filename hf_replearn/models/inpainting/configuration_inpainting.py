"""Configuration of the context encoder for inpainting (Pathak et al., CVPR 2016)."""

from __future__ import annotations

from typing import Literal, get_args

from hf_replearn.models.image_encoder import ImageEncoderConfig

Mask = Literal["central", "random_block", "random_region"]
MASKS = get_args(Mask)


class InpaintingConfig(ImageEncoderConfig):
    """Encode an image with a region removed; decode the whole image; the loss looks at the removed region.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        mask (`str`, defaults to `"central"`): ``central`` (the central square), ``random_block`` (a square
            at a random place) or ``random_region`` (random blobs: thresholded, upsampled noise), the
            paper's three kinds of masks.
        mask_fraction (`float`, defaults to 0.25): area removed, as a fraction of the image (the paper's
            central square is half the side, a quarter of the area).
        adversarial_weight (`float`, defaults to 0.0): lambda_adv of the joint loss
            lambda_rec * L_rec + lambda_adv * L_adv (the paper: 0.999 and 0.001); 0 disables the
            discriminator.
    """

    model_type = "inpainting"

    def __init__(self, mask: Mask = "central", mask_fraction: float = 0.25, adversarial_weight: float = 0.0, **kwargs):
        if mask not in MASKS:
            raise ValueError(f"mask must be one of {', '.join(MASKS)}, got {mask!r}")
        if not 0 < mask_fraction < 1:
            raise ValueError(f"mask_fraction is the share of the image removed and must lie in (0, 1), got {mask_fraction}")
        if not 0 <= adversarial_weight < 1:
            raise ValueError(f"adversarial_weight must lie in [0, 1) (the paper uses 0.001), got {adversarial_weight}")
        self.mask = mask
        self.mask_fraction = mask_fraction
        self.adversarial_weight = adversarial_weight
        super().__init__(**kwargs)
