"""Rotation prediction (Gidaris et al. 2018): train the 4-way rotation classifier -> save -> probe h = f(x)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_replearn.models.rotation.configuration_rotation import RotationConfig
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import (
    ENCODER_FIELDS_NOT_SET,
    ImageModelArgs,
    ImageRecipe,
    probe_and_card,
    setup_image_task,
    single_view_trainer,
    train_and_save,
)


@config_section(RotationConfig, exclude=ENCODER_FIELDS_NOT_SET)
class RotationModelArgs(ImageModelArgs):
    """Rotation's ``model`` section: the ``RotationConfig`` fields (``models/rotation/configuration_rotation.py``)."""


@dataclass
class RotationRecipe(ImageRecipe):
    model: RotationModelArgs = field(default_factory=RotationModelArgs)


def run(recipe: RotationRecipe) -> dict[str, float]:
    task = setup_image_task(recipe)
    trainer = single_view_trainer(recipe, task.model, task.dataset["train"])
    model, results = train_and_save(recipe, trainer, task.model)
    return probe_and_card(recipe, model, task.dataset, task.build, results)
