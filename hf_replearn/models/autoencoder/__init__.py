from hf_replearn.models.autoencoder.configuration_autoencoder import AutoencoderConfig
from hf_replearn.models.autoencoder.modeling_autoencoder import AutoencoderModel, AutoencoderOutput

__all__ = ["AutoencoderConfig", "AutoencoderModel", "AutoencoderOutput"]
