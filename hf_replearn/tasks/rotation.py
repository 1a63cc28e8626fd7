"""Rotation prediction (Gidaris et al. 2018): train the 4-way rotation classifier -> save -> probe h = f(x)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from transformers import set_seed

from hf_replearn.data.images import load_image_dataset
from hf_replearn.models.rotation.configuration_rotation import RotationConfig
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import (
    ENCODER_FIELDS_NOT_SET,
    ImageModelArgs,
    ImageRecipe,
    build_image_model,
    init_and_adapt,
    probe_and_card,
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
    recipe.evaluation.validate()
    set_seed(recipe.seed)
    dataset = load_image_dataset(recipe.data, recipe.dataset_limit)
    num_channels, image_size, _ = dataset["train"][0]["pixel_values"].shape
    build = partial(build_image_model, recipe, num_channels, image_size)
    model = init_and_adapt(recipe, build())
    trainer = single_view_trainer(recipe, model, dataset["train"])
    model, results = train_and_save(recipe, trainer, model)
    return probe_and_card(recipe, model, dataset, build, results)
