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
        contrastive_loss (`str`, defaults to `"ntxent"`): `"ntxent"` (the paper's), `"dcl"`, the decoupled
            contrastive loss (Yeh et al. 2022: the positive left out of the denominator, `losses/dcl.py`), or
            `"nnclr"` (Dwibedi et al. 2021: each view's nearest neighbour in a support set of earlier projections
            is its positive, `losses/nnclr.py`).
        support_set_size (`int`, defaults to 16384): with `"nnclr"`, how many earlier projections the support set
            keeps (a multiple of the global batch size).
    """

    LOSSES = ("ntxent", "dcl", "nnclr")

    model_type = "simclr"

    def __init__(
        self,
        projection_hidden_dim: int | None = None,
        projection_dim: int = 128,
        contrastive_temperature: float = 0.5,
        contrastive_loss: str = "ntxent",
        support_set_size: int = 16384,
        **kwargs,
    ):
        if not contrastive_temperature > 0:
            raise ValueError(f"SimCLRConfig contrastive_temperature must be > 0, got {contrastive_temperature}")
        if contrastive_loss not in self.LOSSES:
            raise ValueError(f"SimCLRConfig contrastive_loss must be one of {self.LOSSES}, got {contrastive_loss!r}")
        if not support_set_size >= 1:
            raise ValueError(f"SimCLRConfig support_set_size must be >= 1, got {support_set_size}")
        self.contrastive_loss = contrastive_loss
        self.support_set_size = support_set_size
        self.projection_hidden_dim = projection_hidden_dim
        self.projection_dim = projection_dim
        self.contrastive_temperature = contrastive_temperature
        super().__init__(**kwargs)
