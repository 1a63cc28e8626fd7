from hf_replearn.models.context.configuration_context import ContextConfig
from hf_replearn.models.context.modeling_context import NEIGHBOURS, ContextModel, ContextOutput, sample_patch_pairs

__all__ = ["NEIGHBOURS", "ContextConfig", "ContextModel", "ContextOutput", "sample_patch_pairs"]
