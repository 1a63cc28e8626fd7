from hf_replearn.models.inpainting.configuration_inpainting import InpaintingConfig
from hf_replearn.models.inpainting.modeling_inpainting import InpaintingModel, InpaintingOutput, make_masks

__all__ = ["InpaintingConfig", "InpaintingModel", "InpaintingOutput", "make_masks"]
