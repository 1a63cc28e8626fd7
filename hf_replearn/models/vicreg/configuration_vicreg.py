"""Configuration of VICReg (Bardes, Ponce & LeCun 2022): encoder f, expander h, and the three loss weights."""

from __future__ import annotations

from hf_replearn.models.image_encoder import ImageEncoderConfig


class VICRegConfig(ImageEncoderConfig):
    """VICReg: y = f(x), z = h(y) with h an MLP expander, trained with ``losses/vicreg.py`` on two augmented views.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        expander_dims (`list[int]`, defaults to `[1024, 1024, 1024]`): widths of the expander's layers, the last
            one the dimension of z (Linear, BatchNorm, ReLU between them; the paper uses 3 x 8192 for a ResNet-50's
            2048-d y: the loss decorrelates z's dimensions, so a wider z carries more).
        invariance_weight (`float`, defaults to 25.0): lambda, the weight of the views' mean squared distance.
        variance_weight (`float`, defaults to 25.0): mu, the weight of the hinge on each dimension's std.
        covariance_weight (`float`, defaults to 1.0): nu, the weight of the squared off-diagonal covariances.
    """

    model_type = "vicreg"

    def __init__(
        self,
        expander_dims: list[int] = [1024, 1024, 1024],  # copied below, never mutated
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        **kwargs,
    ):
        if not expander_dims or any(int(w) != w or w < 1 for w in expander_dims):
            raise ValueError(f"expander_dims must be a non-empty list of positive widths, got {expander_dims}")
        weights = {"invariance_weight": invariance_weight, "variance_weight": variance_weight,
                   "covariance_weight": covariance_weight}  # fmt: skip
        for name, value in weights.items():
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.expander_dims = list(expander_dims)
        self.invariance_weight = invariance_weight
        self.variance_weight = variance_weight
        self.covariance_weight = covariance_weight
        super().__init__(**kwargs)
