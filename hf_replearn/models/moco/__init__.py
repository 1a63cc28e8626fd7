from hf_replearn.models.moco.configuration_moco import MoCoConfig
from hf_replearn.models.moco.modeling_moco import MoCoModel, MoCoOutput

__all__ = ["MoCoConfig", "MoCoModel", "MoCoOutput"]
