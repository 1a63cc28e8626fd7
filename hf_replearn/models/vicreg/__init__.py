from hf_replearn.models.vicreg.configuration_vicreg import VICRegConfig
from hf_replearn.models.vicreg.modeling_vicreg import VICRegModel, VICRegOutput

__all__ = ["VICRegConfig", "VICRegModel", "VICRegOutput"]
