from hf_replearn.models.colorization.configuration_colorization import ColorizationConfig
from hf_replearn.models.colorization.modeling_colorization import ColorizationModel, ColorizationOutput

__all__ = ["ColorizationConfig", "ColorizationModel", "ColorizationOutput"]
