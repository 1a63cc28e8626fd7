"""MoCo on images: train (query/key encoders, queue, EMA callback) -> save -> probe -> model card.

``model.key_mechanism`` picks MoCo, end-to-end or memory bank (the paper's Figure 3); ``augment_preset``
picks MoCo v1's or v2's augmentation (v2 adds blur and stronger colour jitter), or ``custom`` keeps the
``augment`` section as written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hf_replearn.data.augment import AugmentConfig
from hf_replearn.errors import UserError
from hf_replearn.models.image_encoder import DATA_FIELDS
from hf_replearn.models.moco.configuration_moco import MoCoConfig
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import (
    check_whole_batches,
    ImageModelArgs,
    ImageRecipe,
    probe_and_card,
    setup_image_task,
    train_and_save,
    two_view_trainer,
)

# MoCo v1 (He et al. 2020, Sec. 4): crop 0.2-1, colour jitter 0.4, random grayscale; v2 (Chen et al.
# 2020, "Improved baselines"): adds Gaussian blur p=0.5 and SimCLR's stronger jitter with p=0.8.
AUGMENT_PRESETS = {
    "v1": {"crop_scale": [0.2, 1.0], "jitter_strength": 0.5, "jitter_p": 1.0, "blur_p": 0.0},
    "v2": {"crop_scale": [0.2, 1.0], "jitter_strength": 1.0, "jitter_p": 0.8, "blur_p": 0.5},
}


@config_section(
    MoCoConfig, exclude=(*DATA_FIELDS, "memory_bank_size"), renamed={"temperature": "contrastive_temperature"}
)
class MoCoModelArgs(ImageModelArgs):
    """MoCo's ``model`` section: the ``MoCoConfig`` fields (``models/moco/configuration_moco.py``) but the memory
    bank's size, which is the number of training examples."""


@dataclass
class MoCoRecipe(ImageRecipe):
    model: MoCoModelArgs = field(default_factory=MoCoModelArgs)
    augment_preset: Literal["v1", "v2", "custom"] = "v2"
    """Augmentation: MoCo v1's, v2's (overrides the matching ``augment`` keys), or ``custom``."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def check_queue(recipe: MoCoRecipe, args) -> None:
    """The queue must take whole batches: K a multiple of the global batch (per device x processes)."""
    if recipe.model.key_mechanism == "moco":
        check_whole_batches(recipe, args, "queue_size")
    if recipe.model.shuffle_bn_groups > 1 and args.per_device_train_batch_size % recipe.model.shuffle_bn_groups:
        raise UserError(
            f"{recipe.source}: per_device_train_batch_size={args.per_device_train_batch_size} does not split into "
            f"model.shuffle_bn_groups={recipe.model.shuffle_bn_groups} equal BatchNorm groups; pick a divisor"
        )


def sync_lora_key_encoder(recipe: MoCoRecipe, peft_model) -> None:
    """LoRA wrapped the key encoder like the query encoder (the default targets name both), each with its own
    random A: start theta_k as a copy of theta_q again, so that the momentum update pairs equal layers."""
    try:
        peft_model.get_base_model().copy_query_to_key()
    except RuntimeError:  # load_state_dict: the two encoders were wrapped differently
        raise UserError(
            f"{recipe.source}: lora.target_modules={recipe.lora.target_modules} adapts the query and key encoders "
            "differently; MoCo's momentum update needs both alike: name layers by their last part (conv1, conv2) "
            "or leave lora.target_modules empty"
        ) from None


def run(recipe: MoCoRecipe) -> dict[str, float]:
    from hf_replearn.training.callbacks import MomentumUpdateCallback
    from hf_replearn.training.trainer import ImageCollator

    if recipe.augment_preset != "custom":
        recipe.augment = dataclasses.replace(recipe.augment, **AUGMENT_PRESETS[recipe.augment_preset])
    recipe.augment.validate()
    task = setup_image_task(recipe, task_fields=lambda ds: {"memory_bank_size": len(ds["train"])})  # an entry each
    model, dataset, n_train = task.model, task.dataset, len(task.dataset["train"])
    if recipe.lora.enabled and recipe.model.key_mechanism == "moco":
        sync_lora_key_encoder(recipe, model)

    train = dataset["train"]
    bank = recipe.model.key_mechanism == "memory_bank"
    if bank:
        train = train.add_column("index", np.arange(n_train))
    trainer = two_view_trainer(recipe, task, train_dataset=train, data_collator=ImageCollator(with_index=bank),
                               callbacks=[MomentumUpdateCallback()])  # fmt: skip
    args = trainer.args
    check_queue(recipe, args)  # the batch it trains with (a smoke run's small dataset lowers it)
    model, results = train_and_save(recipe, trainer, model)
    results["train/negatives"] = (
        args.per_device_train_batch_size * args.world_size - 1
        if recipe.model.key_mechanism == "end_to_end" else recipe.model.queue_size
    )  # fmt: skip
    return probe_and_card(recipe, model, dataset, task.build, results)
