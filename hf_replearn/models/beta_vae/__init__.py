from hf_replearn.models.beta_vae.configuration_beta_vae import BetaVAEConfig
from hf_replearn.models.beta_vae.modeling_beta_vae import BetaVAEModel

__all__ = ["BetaVAEConfig", "BetaVAEModel"]
