from hf_replearn.models.simclr.configuration_simclr import SimCLRConfig
from hf_replearn.models.simclr.modeling_simclr import SimCLRModel, SimCLROutput

__all__ = ["SimCLRConfig", "SimCLRModel", "SimCLROutput"]
