"""Losses, one per module, each with its paper and equation in the docstring."""

from hf_replearn.losses.clip import CLIPLoss
from hf_replearn.losses.cpc_infonce import CPCInfoNCELoss
from hf_replearn.losses.dcl import DecoupledContrastiveLoss
from hf_replearn.losses.infonce import InfoNCELoss
from hf_replearn.losses.multicrop_ntxent import MultiCropNTXentLoss
from hf_replearn.losses.nnclr import NNCLRLoss
from hf_replearn.losses.ntxent import NTXentLoss
from hf_replearn.losses.vicreg import VICRegLoss

__all__ = ["CLIPLoss", "CPCInfoNCELoss", "DecoupledContrastiveLoss", "InfoNCELoss", "MultiCropNTXentLoss", "NNCLRLoss", "NTXentLoss", "VICRegLoss"]
