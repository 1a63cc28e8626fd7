from hf_replearn.models.cpc.configuration_cpc import CPCConfig
from hf_replearn.models.cpc.modeling_cpc import CPCModel, CPCOutput

__all__ = ["CPCConfig", "CPCModel", "CPCOutput"]
