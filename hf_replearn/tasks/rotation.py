"""Rotation prediction (Gidaris et al. 2018): train the 4-way rotation classifier -> save -> probe h = f(x)."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import set_seed

from hf_replearn.data.images import load_image_dataset
from hf_replearn.tasks.common import (
    ImageEncoderArgs,
    ImageRecipe,
    build_or_explain,
    init_and_adapt,
    probe_and_card,
    single_view_trainer,
    train_and_save,
)


@dataclass
class RotationModelArgs(ImageEncoderArgs):
    """The RotationConfig fields a recipe sets (see ``models/rotation/configuration_rotation.py``)."""

    num_rotations: int = 4
    """4 (0/90/180/270 degrees) or 2 (0/180)."""
    classifier_dropout: float = 0.0


@dataclass
class RotationRecipe(ImageRecipe):
    model: RotationModelArgs = field(default_factory=RotationModelArgs)


def build_model(recipe: RotationRecipe, num_channels: int, image_size: int):
    import hf_replearn.models  # noqa: F401
    from hf_replearn.models.rotation import RotationConfig, RotationModel

    m = recipe.model
    config = build_or_explain(recipe, lambda: RotationConfig(
        num_channels=num_channels, image_size=image_size, num_rotations=m.num_rotations,
        classifier_dropout=m.classifier_dropout, **m.encoder_kwargs(),
    ))  # fmt: skip
    return RotationModel(config)


def run(recipe: RotationRecipe) -> dict[str, float]:
    recipe.evaluation.validate()
    set_seed(recipe.seed)
    dataset = load_image_dataset(recipe.data, recipe.dataset_limit)
    num_channels, image_size, _ = dataset["train"][0]["pixel_values"].shape
    model = init_and_adapt(recipe, build_model(recipe, num_channels, image_size))
    trainer = single_view_trainer(recipe, model, dataset["train"])
    model, results = train_and_save(recipe, trainer, model)
    return probe_and_card(recipe, model, dataset, lambda: build_model(recipe, num_channels, image_size), results)
