"""Recipe ``training:`` section -> ``transformers.TrainingArguments``."""

from __future__ import annotations

import logging

from transformers import TrainingArguments

from hf_replearn.errors import UserError
from hf_replearn.utils.distributed import launched_world_size, on_cpu_only
from hf_replearn.utils.hardware import bf16_native

logger = logging.getLogger(__name__)

# Defaults every recipe starts from; a recipe's `training:` keys override them.
BASE_DEFAULTS = {
    "report_to": "none",
    "logging_steps": 10,
    "save_strategy": "steps",
    "save_steps": 500,
    "save_total_limit": 2,
}


def make_training_args(recipe, **task_defaults) -> TrainingArguments:
    """Build TrainingArguments from task defaults, then the recipe's ``training`` keys, then its seed."""
    import torch

    # Pinned memory only helps host-to-GPU copies; on CPU, transformers would warn on every run.
    values = {**BASE_DEFAULTS, "dataloader_pin_memory": torch.cuda.is_available(), **task_defaults, **recipe.training}
    if launched_world_size() > 1 and on_cpu_only():
        # `accelerate launch --multi_gpu --num_processes N` starts N processes through torchrun; without
        # use_cpu, accelerate finds no GPU backend and each process would train alone (world size 1).
        values.setdefault("use_cpu", True)
    if values.get("bf16") == "auto":
        values["bf16"] = bf16_native()
    if values.get("bf16") and on_cpu_only():
        # transformers refuses bf16 without an accelerator unless use_cpu is set; with none, the CPU is
        # the only device there is, and autocast runs bf16 on it.
        values.setdefault("use_cpu", True)
        if not bf16_native():
            logger.warning("training.bf16: this CPU has no bf16 instructions (AVX-512 BF16 or AMX), so bf16 is "
                           "emulated and slower than fp32; set training.bf16=auto to use it only where it is native")  # fmt: skip
    values.pop("resume_from_checkpoint", None)  # passed to Trainer.train, see resume_argument
    values["output_dir"] = str(recipe.output_dir)
    values["seed"] = recipe.seed
    try:
        return TrainingArguments(**values)
    except (ValueError, TypeError) as err:
        raise UserError(f"{recipe.source}: invalid `training` settings: {err}") from None


def resume_argument(recipe):
    """``training.resume_from_checkpoint``: true (the latest checkpoint in output_dir), a path, or unset."""
    value = recipe.training.get("resume_from_checkpoint")
    if value in (None, False, "", "false"):
        return None
    return True if value in (True, "true", "latest") else str(value)


def resume_checkpoint_dir(recipe) -> str | None:
    """The checkpoint folder a resumed run will start from (what ``Trainer.train`` picks), or None."""
    from transformers.trainer_utils import get_last_checkpoint

    value = resume_argument(recipe)
    if value is None:
        return None
    if value is True:
        return get_last_checkpoint(str(recipe.output_dir)) if recipe.output_dir.is_dir() else None
    return value


def resumed_tokenizer(recipe):
    """The tokenizer in the checkpoint a resumed run starts from (``Trainer`` saves its ``processing_class``
    there), or None. A task that trains its tokenizer takes this one on resume: the steps already trained read
    its numbering, which training it again gives only with the same corpus and the same ``tokenizers`` version."""
    import os

    from hf_replearn.data.tokenizer_training import load_tokenizer

    checkpoint = resume_checkpoint_dir(recipe)
    if checkpoint and os.path.isfile(os.path.join(checkpoint, "tokenizer.json")):
        return load_tokenizer(checkpoint)
    return None
