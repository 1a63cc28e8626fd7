"""SimCLR on images: train -> save -> probe with few labels -> model card.

Setup: the image dataset (``data``), a SimCLRModel (``model``), batched augmentations (``augment``).
Train: ``TwoViewTrainer`` (transformers Trainer) with the ``training`` arguments.
Evaluate: frozen h = f(x) against raw pixels, PCA and a random encoder (``evaluation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import set_seed

from hf_replearn.data.augment import AugmentConfig, build_augmentation
from hf_replearn.data.images import load_image_dataset
from hf_replearn.tasks.common import (
    BackboneEncoderArgs,
    ImageRecipe,
    build_or_explain,
    init_and_adapt,
    probe_and_card,
    train_and_save,
)


@dataclass
class SimCLRModelArgs(BackboneEncoderArgs):
    """The SimCLRConfig fields a recipe sets (see ``models/simclr/configuration_simclr.py``)."""

    projection_dim: int = 128
    projection_hidden_dim: int | None = None
    temperature: float = 0.5


@dataclass
class SimCLRRecipe(ImageRecipe):
    model: SimCLRModelArgs = field(default_factory=SimCLRModelArgs)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def build_model(recipe: SimCLRRecipe, num_channels: int, image_size: int):
    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from hf_replearn.errors import UserError
    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    m = recipe.model
    if not m.temperature > 0:
        raise UserError(f"{recipe.source}: model.temperature must be > 0, got {m.temperature}")
    config = build_or_explain(recipe, lambda: SimCLRConfig(
        num_channels=num_channels, image_size=image_size, projection_dim=m.projection_dim,
        projection_hidden_dim=m.projection_hidden_dim, contrastive_temperature=m.temperature, **m.encoder_kwargs(),
    ))  # fmt: skip
    return SimCLRModel(config)


def run(recipe: SimCLRRecipe) -> dict[str, float]:
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.trainer import ImageCollator, TwoViewTrainer

    recipe.augment.validate()
    recipe.evaluation.validate()
    set_seed(recipe.seed)
    dataset = load_image_dataset(recipe.data, recipe.dataset_limit)
    num_channels, image_size, _ = dataset["train"][0]["pixel_values"].shape
    model = init_and_adapt(recipe, build_model(recipe, num_channels, image_size))

    args = make_training_args(
        recipe, per_device_train_batch_size=256, learning_rate=1e-3, weight_decay=1e-6, lr_scheduler_type="cosine",
        warmup_steps=0.05, num_train_epochs=10, remove_unused_columns=False, dataloader_drop_last=True,
    )  # fmt: skip
    trainer = TwoViewTrainer(
        model=model, args=args, train_dataset=dataset["train"], data_collator=ImageCollator(),
        augmentation=build_augmentation(recipe.augment, image_size, num_channels),
    )  # fmt: skip
    model, results = train_and_save(recipe, trainer, model)
    return probe_and_card(recipe, model, dataset, lambda: build_model(recipe, num_channels, image_size), results)
