"""SimCLR on images: train -> save -> probe with few labels -> model card.

Setup: the image dataset (``data``), a SimCLRModel (``model``), batched augmentations (``augment``), and
optionally small local crops besides the two views (``multicrop``).
Train: ``TwoViewTrainer`` (transformers Trainer) with the ``training`` arguments.
Evaluate: frozen h = f(x) against raw pixels, PCA and a random encoder (``evaluation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_replearn.config import key_origin
from hf_replearn.data.augment import AugmentConfig, MultiCropConfig, build_augmentation
from hf_replearn.errors import UserError
from hf_replearn.models.image_encoder import DATA_FIELDS
from hf_replearn.models.simclr.configuration_simclr import SimCLRConfig
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


@config_section(SimCLRConfig, exclude=DATA_FIELDS, renamed={"temperature": "contrastive_temperature"})
class SimCLRModelArgs(ImageModelArgs):
    """SimCLR's ``model`` section: the ``SimCLRConfig`` fields (``models/simclr/configuration_simclr.py``)."""


@dataclass
class SimCLRRecipe(ImageRecipe):
    model: SimCLRModelArgs = field(default_factory=SimCLRModelArgs)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    multicrop: MultiCropConfig = field(default_factory=MultiCropConfig)


def run(recipe: SimCLRRecipe) -> dict[str, float]:
    recipe.augment.validate()
    recipe.multicrop.validate()
    if recipe.multicrop.local_crops and recipe.model.contrastive_loss != "ntxent":
        raise UserError(f"{key_origin(recipe.source, 'model.contrastive_loss')}: model.contrastive_loss="
                        f"{recipe.model.contrastive_loss} has no multi-crop form here; with multicrop.local_crops="
                        f"{recipe.multicrop.local_crops} use contrastive_loss=ntxent, or set multicrop.local_crops=0")
    task = setup_image_task(recipe)
    local = recipe.multicrop
    local_views = dict(
        local_augmentation=build_augmentation(recipe.augment, local.size, task.num_channels, crop_scale=local.scale),
        local_crops=local.local_crops,
    ) if local.local_crops else {}  # fmt: skip
    trainer = two_view_trainer(recipe, task, **local_views)
    if recipe.model.contrastive_loss == "nnclr":
        check_whole_batches(recipe, trainer.args, "support_set_size")  # the batch it trains with
    model, results = train_and_save(recipe, trainer, task.model)
    return probe_and_card(recipe, model, task.dataset, task.build, results)
