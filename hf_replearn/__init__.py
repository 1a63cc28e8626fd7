"""hf_replearn: pretrain representations and prove they are useful downstream, on the Hugging Face stack."""

__version__ = "0.1.0"

from hf_replearn.errors import UserError  # noqa: E402

__all__ = ["UserError", "__version__"]
