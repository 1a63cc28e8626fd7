from hf_replearn.models.simclr.configuration_simclr import ImageEncoderConfig, SimCLRConfig
from hf_replearn.models.simclr.modeling_simclr import SimCLRModel, SimCLROutput

__all__ = ["ImageEncoderConfig", "SimCLRConfig", "SimCLRModel", "SimCLROutput"]
