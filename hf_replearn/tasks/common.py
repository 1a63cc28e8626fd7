"""What every image task shares: its recipe sections (data, evaluation, lora, the ``model`` section's
recipe-only keys) and the steps around building its model (start point and LoRA, train, save, probe, model card).

Every image task (simclr.py is the shortest to read) uses these, so that the tasks differ only in
what differs (model, trainer, loss inputs).

Starting from an earlier run: ``model.init_from: DIR`` loads that run's weights into the model the recipe
describes. A ``lora:`` section then adapts it with LoRA (``training/lora.py``: by default every Conv2d and
Linear layer, the rest frozen); the run saves the merged model as its checkpoint, which the probes use, and
the adapter alone under ``adapter/``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np
from transformers import set_seed

from hf_replearn.config import Recipe
from hf_replearn.data.images import ImageDataConfig
from hf_replearn.evaluation.probe import (ProbeConfig, evaluate_representations, features_note, fillable_budgets, knn_k,
                                          probe_table, shown_in_probe_table)
from hf_replearn.errors import UserError, explained
from hf_replearn.models.image_encoder import BACKBONE_FIELDS, DATA_FIELDS, SMALL_RESNET_FIELDS
from hf_replearn.recipe_sections import config_values
from hf_replearn.training.lifecycle import train_and_save  # noqa: F401  (the image tasks' train -> save step)
from hf_replearn.training.lora import LoraSection
from hf_replearn.utils.progress import stage


class BackboneSizesMixin:
    """For recipes whose ``model`` may name a transformers ``backbone``: ``to_dict`` (the card's hyperparameters)
    leaves out the small ResNet's sizes when a backbone replaces it."""

    def to_dict(self) -> dict:
        out = super().to_dict()
        if out["model"].get("backbone"):
            out["model"] = {k: v for k, v in out["model"].items() if k not in SMALL_RESNET_FIELDS}
        return out


@dataclass
class ImageRecipe(BackboneSizesMixin, Recipe):
    """What every image recipe has besides its ``model``: the dataset and the evaluation of the representation."""

    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    evaluation: ProbeConfig = field(default_factory=ProbeConfig)
    lora: LoraSection = field(default_factory=lambda: LoraSection(enabled=False))
    """LoRA through PEFT on the model loaded from ``model.init_from``; a recipe with a ``lora:`` section uses it."""
    channels_last: bool = False
    """Train in the channels-last (NHWC) memory layout, oneDNN's fast path for convolutions on CPUs (simclr,
    moco, vicreg; the other image tasks train in the default layout)."""


@dataclass
class ImageModelArgs:
    """The keys of an image recipe's ``model`` section that are not model config fields.

    Each task derives the rest of its section from its config class (``recipe_sections.config_section``),
    so that each field and its doc live once, in ``models/<family>/configuration_<family>.py``.
    """

    init_from: str | None = None
    """Output folder of an earlier run of this task to start from (its model.safetensors must fit this
    section's sizes); empty: fresh weights. Needed by ``lora``."""

    def config_kwargs(self) -> dict:
        """Every field of this section that is a config field (all but ``init_from``)."""
        return config_values(self)


IMAGE_TRAINING_DEFAULTS = dict(
    per_device_train_batch_size=256, learning_rate=1e-3, weight_decay=1e-6, lr_scheduler_type="cosine", warmup_steps=0.05,
    num_train_epochs=10, remove_unused_columns=False, dataloader_drop_last=True,
)  # fmt: skip
"""Training defaults, under a recipe's ``training`` section, of the image tasks that learn from the pixels alone
(the two-view methods, pretext tasks, autoencoders): batch 256 (for the two-view methods every image's other view
is in it), a cosine schedule with 5% warmup, whole batches only."""

ENCODER_FIELDS_NOT_SET = DATA_FIELDS + BACKBONE_FIELDS
"""What a family without the transformers-backbone option leaves out of its ``model`` section: the data's
shape (read off the dataset) and the backbone fields (SimCLR, MoCo and VICReg keep those)."""


def build_or_explain(recipe, build):
    """``build()`` a model config/model; a ValueError from the config becomes a UserError naming the recipe."""
    return explained(build, lambda err: f"{recipe.source}: model: {err}", catch=ValueError)


def build_image_model(recipe, num_channels: int, image_size: int, **task_fields):
    """The model the recipe's ``model`` section describes, for (num_channels, image_size, image_size) images.

    ``task_fields``: config fields the task sets itself (MoCo's ``memory_bank_size``). A ValueError of the
    config or the model (a bad value) becomes a UserError naming the recipe.
    """
    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModel

    section = recipe.model
    return build_or_explain(recipe, lambda: AutoModel.from_config(section.config_class(
        num_channels=num_channels, image_size=image_size, **section.config_kwargs(), **task_fields
    )))  # fmt: skip


@dataclass
class ImageSetup:
    """What an image task trains on and with (see :func:`setup_image_task`)."""

    dataset: object  # DatasetDict with train and test splits of ``pixel_values`` (C, H, W) uint8 and ``label``
    model: object  # the model to train: fresh or from model.init_from, LoRA-wrapped when asked
    build: Callable  # build() -> a fresh model of the same shape (the random-init baseline)
    num_channels: int
    image_size: int


def setup_image_task(recipe, check_data: Callable | None = None, task_fields: Callable | None = None) -> ImageSetup:
    """The first steps of every image task: check the evaluation section, seed, load the data set
    (``check_data(dataset, num_channels)`` may refuse it), build the model the recipe describes and start it
    from ``model.init_from`` / wrap it in LoRA. ``task_fields(dataset)``: config fields the task sets from
    the data (:func:`build_image_model`)."""
    from hf_replearn.data.images import load_image_dataset

    recipe.evaluation.validate()
    set_seed(recipe.seed)
    dataset = load_image_dataset(recipe.data, recipe.dataset_limit)
    num_channels, image_size, _ = dataset["train"][0]["pixel_values"].shape
    if check_data is not None:
        check_data(dataset, num_channels)
    build = partial(build_image_model, recipe, num_channels, image_size, **(task_fields(dataset) if task_fields else {}))
    return ImageSetup(dataset, init_and_adapt(recipe, build()), build, num_channels, image_size)


def init_and_adapt(recipe, model):
    """The model a task trains: ``model`` (freshly built from the recipe) with ``model.init_from``'s weights
    when set, wrapped in LoRA when the recipe has a ``lora`` section. Checks first that the probe can read
    the stages ``evaluation.feature_stages`` names, so a bad value fails before training, not after."""
    from hf_replearn.evaluation.probe import check_feature_stages
    from hf_replearn.models.pretrained import load_same_family
    from hf_replearn.training.lora import apply_lora

    backbone = getattr(recipe.model, "backbone", None)
    if backbone and not recipe.evaluation.reads_h:  # the recipe's stage readout was chosen for its built-in encoder
        print(f"[probe] model.backbone={backbone}: the probe reads h = f(x) (evaluation.feature_stages / feature_grid "
              "read the built-in small ResNet's stage maps)", flush=True)
        recipe.evaluation.feature_stages, recipe.evaluation.feature_grid = [-1], 1
    if not recipe.evaluation.reads_h:
        try:
            check_feature_stages(model, recipe.evaluation.feature_stages)
        except UserError as err:
            raise UserError(f"{recipe.source}: {err}") from None

    if recipe.model.init_from:
        model = load_same_family(model, recipe.model.init_from)
    if not recipe.lora.enabled:
        return model
    if not recipe.model.init_from:
        raise UserError(
            f"{recipe.source}: lora adapts a trained model, and this recipe starts from random weights; set "
            "model.init_from=<output_dir of an earlier run of this task>, or drop the lora section"
        )
    return apply_lora(model, recipe.lora)


def probe_and_card(recipe, model, dataset, build_random, results: dict, sections: dict | None = None) -> dict:
    """Probe ``model`` against the baselines (``build_random()`` gives the random-init encoder), write the card."""
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.utils.distributed import is_main_process

    if not is_main_process():  # probes are sklearn on one process; the others' results are not written
        return results
    start = time.perf_counter()
    dataset = bounded_test_split(recipe, dataset)
    set_seed(recipe.seed + 1)  # the random baseline: same architecture, fresh weights
    random_model = build_random().to(model.device) if "random_init" in recipe.evaluation.baselines else None
    train_labels = np.asarray(dataset["train"]["label"])
    ev = fillable_budgets(recipe.evaluation, train_labels)
    with stage("probe", f"features of {len(dataset['train'])} train / {len(dataset['test'])} test images; linear and "
                        f"k-NN probes of the model and {', '.join(ev.baselines) or 'no baselines'}"):
        probe, _ = evaluate_representations(
            model, dataset, ev, random_init_model=random_model, plot_path=recipe.output_dir / "tsne.png"
        )
    results.update(probe)
    results["eval/runtime_s"] = time.perf_counter() - start
    table = probe_table(probe) + features_note(ev)
    print(f"\nLinear probe (test accuracy) on {recipe.data.name}; k-NN with k={knn_k(ev.knn_k, train_labels)}:\n{table}\n")
    sections = {"Representation quality": table, **(sections or {})}
    if (recipe.output_dir / "tsne.png").is_file():
        sections["t-SNE of test features"] = "![t-SNE of the test features, coloured by class](tsne.png)"
    if recipe.lora.enabled:
        from hf_replearn.training.lora import card_section

        sections["LoRA"] = card_section(recipe.lora, results, merged_here=True)
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=recipe.data.name,
                     shown=filter(shown_in_probe_table, probe))
    return results


def bounded_test_split(recipe, dataset):
    """``dataset`` whose test split holds at most ``dataset_limit`` images (a fixed sample: the same for every
    run and seed), so that a smoke run (``dataset_limit=64``) probes 64 test images, not the 10,000 of
    Fashion-MNIST; without ``dataset_limit``, the whole test split."""
    from datasets import DatasetDict

    from hf_replearn.data.images import SPLIT_SEED

    limit, test = recipe.dataset_limit, dataset["test"]
    if limit is None or len(test) <= limit:
        return dataset
    print(f"[probe] dataset_limit={limit}: probing on {limit} of the {len(test)} test images", flush=True)
    return DatasetDict(train=dataset["train"], test=test.shuffle(seed=SPLIT_SEED).select(range(limit)))


def single_view_trainer(recipe, model, train_dataset, **task_defaults):
    """The project's Trainer (atomic checkpoints) for models that compute their own loss from
    ``pixel_values`` (pretext tasks, autoencoders): the model makes its own targets (rotations, masks,
    the input itself)."""
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.trainer import ImageCollator, ReplearnTrainer

    args = make_training_args(recipe, **{**IMAGE_TRAINING_DEFAULTS, **task_defaults})
    return ReplearnTrainer(model=model, args=args, train_dataset=train_dataset, data_collator=ImageCollator())


def check_whole_batches(recipe, args, key: str) -> None:
    """A FIFO of projections (MoCo's queue, NNCLR's support set) takes whole global batches: ``model.<key>`` must be
    a multiple of per_device_train_batch_size x processes, the batch the trainer runs with."""
    size, batch = getattr(recipe.model, key), args.per_device_train_batch_size * args.world_size
    if size % batch:
        raise UserError(
            f"{recipe.source}: model.{key}={size} is not a multiple of the global batch size {batch} "
            f"(per_device_train_batch_size x processes); set model.{key} to a multiple of {batch}, "
            f"e.g. {max(batch, size // batch * batch)}"
        )


def two_view_trainer(recipe, task: ImageSetup, train_dataset=None, data_collator=None, **trainer_kwargs):
    """``TwoViewTrainer`` for the two-view methods (simclr, moco, vicreg): two views of each image drawn by the
    recipe's ``augment`` at the views' side, channels-last when the recipe asks, ``IMAGE_TRAINING_DEFAULTS``.
    ``train_dataset`` / ``data_collator`` default to the task's training split and a plain ``ImageCollator``;
    ``trainer_kwargs`` go to the trainer (callbacks, multi-crop's local views)."""
    from hf_replearn.data.augment import build_augmentation
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.trainer import ImageCollator, TwoViewTrainer

    return TwoViewTrainer(
        model=task.model, args=make_training_args(recipe, **IMAGE_TRAINING_DEFAULTS),
        train_dataset=task.dataset["train"] if train_dataset is None else train_dataset,
        data_collator=data_collator or ImageCollator(),
        augmentation=build_augmentation(recipe.augment, recipe.augment.view_side(task.image_size), task.num_channels),
        channels_last=recipe.channels_last, **trainer_kwargs,
    )  # fmt: skip
