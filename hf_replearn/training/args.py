"""Recipe ``training:`` section -> ``transformers.TrainingArguments``."""

from __future__ import annotations

from transformers import TrainingArguments

from hf_replearn.errors import UserError
from hf_replearn.training.distributed import launched_world_size, on_cpu_only

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
