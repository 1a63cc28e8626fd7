from hf_replearn.models.rotation.configuration_rotation import RotationConfig
from hf_replearn.models.rotation.modeling_rotation import RotationModel, RotationOutput, rotate_batch

__all__ = ["RotationConfig", "RotationModel", "RotationOutput", "rotate_batch"]
