"""VICReg on images: train -> save -> probe with few labels -> model card.

Setup: the image dataset (``data``), a VICRegModel (``model``), batched augmentations (``augment``).
Train: ``TwoViewTrainer`` (transformers Trainer) with the ``training`` arguments.
Evaluate: frozen y = f(x) (or its stage maps) against raw pixels, PCA and a random encoder (``evaluation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_replearn.data.augment import AugmentConfig, build_augmentation
from hf_replearn.models.image_encoder import DATA_FIELDS
from hf_replearn.models.vicreg.configuration_vicreg import VICRegConfig
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import (
    TWO_VIEW_DEFAULTS,
    ImageModelArgs,
    ImageRecipe,
    probe_and_card,
    setup_image_task,
    train_and_save,
)


@config_section(VICRegConfig, exclude=DATA_FIELDS)
class VICRegModelArgs(ImageModelArgs):
    """VICReg's ``model`` section: the ``VICRegConfig`` fields (``models/vicreg/configuration_vicreg.py``)."""


@dataclass
class VICRegRecipe(ImageRecipe):
    model: VICRegModelArgs = field(default_factory=VICRegModelArgs)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def run(recipe: VICRegRecipe) -> dict[str, float]:
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.trainer import ImageCollator, TwoViewTrainer

    recipe.augment.validate()
    task = setup_image_task(recipe)
    args = make_training_args(recipe, **TWO_VIEW_DEFAULTS)
    trainer = TwoViewTrainer(
        model=task.model, args=args, train_dataset=task.dataset["train"], data_collator=ImageCollator(),
        augmentation=build_augmentation(recipe.augment, recipe.augment.view_side(task.image_size), task.num_channels),
        channels_last=recipe.channels_last,
    )  # fmt: skip
    model, results = train_and_save(recipe, trainer, task.model)
    return probe_and_card(recipe, model, task.dataset, task.build, results)
