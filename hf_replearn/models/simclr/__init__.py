from hf_replearn.models.simclr.configuration_simclr import SimCLRConfig
from hf_replearn.models.simclr.modeling_simclr import SimCLRModel, SimCLROutput, SimCLRPreTrainedModel

__all__ = ["SimCLRConfig", "SimCLRModel", "SimCLROutput", "SimCLRPreTrainedModel"]
