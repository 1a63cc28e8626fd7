"""Configuration of the (deterministic) autoencoder."""

from __future__ import annotations

from typing import Literal, get_args

from hf_replearn.models.image_encoder import ImageEncoderConfig

Architecture = Literal["conv", "linear"]
Reconstruction = Literal["bernoulli", "gaussian"]
ARCHITECTURES = get_args(Architecture)


class AutoencoderConfig(ImageEncoderConfig):
    """An autoencoder x -> z -> x_hat; the representation is the code z.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        latent_dim (`int`, defaults to 32): dimension of z.
        architecture (`str`, defaults to `"conv"`): ``conv`` (the shared small ResNet, a linear map to z,
            and a transposed-convolution decoder) or ``linear`` (one linear map each way, no
            non-linearity: with squared loss it spans the PCA subspace, Baldi & Hornik 1989).
        reconstruction (`str`, defaults to `"bernoulli"`): ``bernoulli`` (decoder logits, binary
            cross-entropy) or ``gaussian`` (squared error); ``linear`` needs ``gaussian``.
    """

    model_type = "autoencoder"

    def __init__(
        self,
        latent_dim: int = 32,
        architecture: Architecture = "conv",
        reconstruction: Reconstruction = "bernoulli",
        **kwargs,
    ):
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
        if reconstruction not in get_args(Reconstruction):
            raise ValueError(f"reconstruction must be 'bernoulli' or 'gaussian', got {reconstruction!r}")
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive number of dimensions, got {latent_dim}")
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.reconstruction = reconstruction
        super().__init__(**kwargs)
