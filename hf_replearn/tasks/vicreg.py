"""VICReg on images: train -> save -> probe with few labels -> model card.

Setup: the image dataset (``data``), a VICRegModel (``model``), batched augmentations (``augment``).
Train: ``TwoViewTrainer`` (transformers Trainer) with the ``training`` arguments.
Evaluate: frozen y = f(x) (or its stage maps) against raw pixels, PCA and a random encoder (``evaluation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_replearn.data.augment import AugmentConfig
from hf_replearn.models.image_encoder import DATA_FIELDS
from hf_replearn.models.vicreg.configuration_vicreg import VICRegConfig
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import (
    ImageModelArgs,
    ImageRecipe,
    probe_and_card,
    setup_image_task,
    train_and_save,
    two_view_trainer,
)


@config_section(VICRegConfig, exclude=DATA_FIELDS)
class VICRegModelArgs(ImageModelArgs):
    """VICReg's ``model`` section: the ``VICRegConfig`` fields (``models/vicreg/configuration_vicreg.py``)."""


@dataclass
class VICRegRecipe(ImageRecipe):
    model: VICRegModelArgs = field(default_factory=VICRegModelArgs)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def run(recipe: VICRegRecipe) -> dict[str, float]:
    recipe.augment.validate()
    task = setup_image_task(recipe)
    model, results = train_and_save(recipe, two_view_trainer(recipe, task), task.model)
    return probe_and_card(recipe, model, task.dataset, task.build, results)
