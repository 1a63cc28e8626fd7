"""Configuration of SimCLR (Chen et al. 2020): encoder f, projection head g, NT-Xent temperature."""

from __future__ import annotations

from hf_replearn.models.image_encoder import ImageEncoderConfig


class SimCLRConfig(ImageEncoderConfig):
    """SimCLR: h = f(x), z = g(h) with g a 2-layer MLP, trained with NT-Xent on two augmented views.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        projection_hidden_dim (`int`, *optional*): hidden width of g; defaults to the width of h, as in
            the paper.
        projection_dim (`int`, defaults to 128): dimension of z (the paper uses 128).
        contrastive_temperature (`float`, defaults to 0.5): NT-Xent temperature tau, > 0 (not named
            `temperature`, which transformers reserves for generation).
        contrastive_loss (`str`, defaults to `"ntxent"`): `"ntxent"` (the paper's) or `"dcl"`, the decoupled
            contrastive loss (Yeh et al. 2022: the positive left out of the denominator, `losses/dcl.py`).
    """

    LOSSES = ("ntxent", "dcl")

    model_type = "simclr"

    def __init__(
        self,
        projection_hidden_dim: int | None = None,
        projection_dim: int = 128,
        contrastive_temperature: float = 0.5,
        contrastive_loss: str = "ntxent",
        **kwargs,
    ):
        if not contrastive_temperature > 0:
            raise ValueError(f"SimCLRConfig contrastive_temperature must be > 0, got {contrastive_temperature}")
        if contrastive_loss not in self.LOSSES:
            raise ValueError(f"SimCLRConfig contrastive_loss must be one of {self.LOSSES}, got {contrastive_loss!r}")
        self.contrastive_loss = contrastive_loss
        self.projection_hidden_dim = projection_hidden_dim
        self.projection_dim = projection_dim
        self.contrastive_temperature = contrastive_temperature
        super().__init__(**kwargs)
