"""Semi-supervised fine-tuning of an image encoder: a few labels, end to end (SimCLR, Chen et al. 2020, Section 6).

Setup: the image dataset and a class-balanced, seeded ``data.label_fraction`` of its training labels (the
subsets the probe's ``evaluation.label_fractions`` draws, ``evaluation.probe.fraction_subset``); an
``ImageEncoderForImageClassification`` whose encoder comes from ``model.init_from`` (the output folder of
any image run of this toolkit: its encoder weights and sizes; its heads are dropped), from a transformers
vision backbone (``model.backbone``), or from random weights (no ``init_from``: the from-scratch baseline).
Train: ``AugmentedTrainer`` (transformers Trainer) with the pretraining's kornia augmentations, lighter
(``augment``), on the labelled subset only; LoRA through ``lora:``.
Evaluate: accuracy on the whole test split; results.json and a model card saying where the run started.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from transformers import set_seed

from hf_replearn.config import Recipe, key_origin
from hf_replearn.data.augment import AugmentConfig, build_augmentation
from hf_replearn.data.images import ImageDataConfig, load_image_dataset
from hf_replearn.errors import UserError
from hf_replearn.models.image_classification.configuration_image_classification import ImageClassifierConfig
from hf_replearn.models.image_encoder import BACKBONE_RECORD, DATA_FIELDS, SMALL_RESNET_FIELDS
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import BackboneSizesMixin, ImageModelArgs, build_or_explain, train_and_save
from hf_replearn.training.lora import LoraSection

HEAD_INITS = ("random", "probe")

ENCODER_SIZES = SMALL_RESNET_FIELDS + ("backbone", "trust_remote_code")
"""Fields of the encoder that ``model.init_from`` fixes: its weights only fit an encoder of those sizes."""


@dataclass
class FinetuneDataConfig(ImageDataConfig):
    """The dataset, and which of its training labels the fine-tuning may use."""

    label_fraction: float = 1.0
    """Fraction of the training labels used, in (0, 1]: a class-balanced (stratified) seeded subset, at least
    one example per class; 0.01 and 0.1 are SimCLR's semi-supervised settings."""
    label_seed: int = 0
    """Seed of the labelled subset (the probe's subset with the same fraction and seed is the same one)."""


@config_section(ImageClassifierConfig, exclude=DATA_FIELDS)
class FinetuneModelArgs(ImageModelArgs):
    """The classifier's ``model`` section: the ``ImageClassifierConfig`` fields
    (``models/image_classification/configuration_image_classification.py``)."""

    init_from: str | None = None
    """Output folder of an image run of this toolkit (simclr, moco, rotation, ...) whose encoder starts the
    fine-tuning; its sizes (widths, blocks_per_stage, stem_stride) are taken from its config.json, over the
    recipe file's (a different size given on the command line is refused). Empty: random weights, the
    from-scratch baseline."""
    head_init: str = "random"
    """How the linear head starts: ``random``, or ``probe`` (LP-FT, Kumar et al. 2022): the logistic regression
    fitted on the frozen encoder's h of the labelled images, so that fine-tuning starts from a head that already
    classifies instead of bending the pretrained features towards a random one. ``probe`` needs a trained
    encoder (``init_from`` or a pretrained backbone) and a linear head (no ``classifier_hidden_dim``)."""


@dataclass
class FinetuneImagesRecipe(BackboneSizesMixin, Recipe):
    data: FinetuneDataConfig = field(default_factory=FinetuneDataConfig)
    model: FinetuneModelArgs = field(default_factory=FinetuneModelArgs)
    augment: AugmentConfig = field(
        default_factory=lambda: AugmentConfig(crop_scale=[0.5, 1.0], jitter_strength=0.4, blur_p=0.0)
    )
    """The pretraining's augmentations, lighter by default (crop, flip, jitter): they regularise few labels."""
    lora: LoraSection = field(default_factory=lambda: LoraSection(enabled=False))
    """LoRA on the encoder (every Conv2d and Linear but the head, which trains fully); needs a trained start."""


def pretrained_encoder_config(recipe: FinetuneImagesRecipe):
    """The config of ``model.init_from``'s run; a UserError when it is not an image run of this toolkit."""
    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from transformers import AutoConfig

    from hf_replearn.models.image_encoder import ImageEncoderConfig
    from hf_replearn.models.pretrained import run_folder
    from hf_replearn.utils.inputs import check_folder

    folder = check_folder(run_folder(recipe.model.init_from), "model.init_from", recipe.source,
                          what="output_dir of an image run of this toolkit (e.g. outputs/simclr_fashion_mnist)")
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    if not isinstance(config, ImageEncoderConfig):
        raise UserError(f"{recipe.source}: model.init_from={recipe.model.init_from} holds a {config.model_type!r} model, not an image "
                        "run of this toolkit; start from one (simclr, moco, rotation, ...), or, for a transformers "
                        f"vision model, use model.backbone={recipe.model.init_from} model.backbone_pretrained=true")  # fmt: skip
    defaults, replaced = FinetuneModelArgs(), []
    for name in ENCODER_SIZES:
        mine, saved = getattr(recipe.model, name), getattr(config, name)
        if mine == getattr(defaults, name) or mine == saved:
            continue
        origin = key_origin(recipe.source, f"model.{name}")
        if origin.startswith("command-line override"):  # asked for on purpose: a contradiction, not a default
            raise UserError(f"{origin}: model.{name}={mine}, but model.init_from={recipe.model.init_from} has {name}={saved}; "
                            f"drop model.{name} (it is read from that run)")  # fmt: skip
        replaced.append(f"{name}={saved} (the recipe's {mine} sizes the from-scratch network)")
    if replaced:
        print(f"[finetune] the encoder of model.init_from={recipe.model.init_from}: {', '.join(replaced)}", flush=True)
    return config


def labelled_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of the labelled training examples: the probe's stratified, seeded subset (``fraction_subset``)."""
    from hf_replearn.evaluation.probe import fraction_subset

    return fraction_subset(labels, fraction, seed)


def check_recipe(recipe: FinetuneImagesRecipe) -> None:
    """Bad values, named before any work is done."""
    recipe.augment.validate()
    if not 0 < recipe.data.label_fraction <= 1:
        raise UserError(f"{recipe.source}: data.label_fraction must lie in (0, 1] (e.g. 0.01 for 1% of the labels), "
                        f"got {recipe.data.label_fraction}")  # fmt: skip
    trained = recipe.model.init_from or recipe.model.backbone_pretrained
    if recipe.model.head_init not in HEAD_INITS:
        raise UserError(f"{recipe.source}: model.head_init={recipe.model.head_init!r}; choose one of {', '.join(HEAD_INITS)}")
    if recipe.model.head_init == "probe" and not trained:
        raise UserError(f"{recipe.source}: model.head_init=probe fits the head on a trained encoder's features, and this "
                        "recipe starts from random weights; set model.init_from=<output_dir of an image run>, or drop "
                        "model.head_init")  # fmt: skip
    if recipe.model.head_init == "probe" and recipe.model.classifier_hidden_dim:
        raise UserError(f"{recipe.source}: model.head_init=probe fits a linear head, and model.classifier_hidden_dim="
                        f"{recipe.model.classifier_hidden_dim} asks for an MLP; set one of them only")  # fmt: skip
    if recipe.lora.enabled and not trained:
        raise UserError(f"{recipe.source}: lora adapts a trained encoder, and this recipe starts from random weights; "
                        "set model.init_from=<output_dir of an image run>, or drop the lora section")  # fmt: skip


def run(recipe: FinetuneImagesRecipe) -> dict[str, float]:
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.trainer import AugmentedTrainer, ImageCollator

    check_recipe(recipe)
    pretrained = pretrained_encoder_config(recipe) if recipe.model.init_from else None
    if pretrained is not None:  # the encoder is the run's, of its sizes: the recipe (and so the card) says which
        for name in ENCODER_SIZES:
            setattr(recipe.model, name, getattr(pretrained, name))
        if recipe.data.image_size is None:
            recipe.data.image_size = pretrained.image_size  # the images the encoder was trained on (digits: 16)
    set_seed(recipe.seed)
    dataset = load_image_dataset(recipe.data, recipe.dataset_limit)
    num_channels, image_size, _ = dataset["train"][0]["pixel_values"].shape
    if pretrained is not None and (num_channels, image_size) != (pretrained.num_channels, pretrained.image_size):
        raise UserError(
            f"{recipe.source}: model.init_from={recipe.model.init_from} was trained on {pretrained.num_channels}-channel "
            f"{pretrained.image_size}x{pretrained.image_size} images and data gives {num_channels}-channel "
            f"{image_size}x{image_size} ones; set data.image_size={pretrained.image_size} or start from a run on this data"
        )
    train_labels = np.asarray(dataset["train"]["label"], dtype=np.int64)
    labelled = labelled_subset(train_labels, recipe.data.label_fraction, recipe.data.label_seed)
    model = build_classifier(recipe, dataset, num_channels, image_size, pretrained, labelled)
    per_class = np.bincount(train_labels[labelled], minlength=model.config.num_labels)
    args = make_training_args(
        recipe, per_device_train_batch_size=64, per_device_eval_batch_size=512, learning_rate=1e-3,
        weight_decay=1e-4, lr_scheduler_type="cosine", warmup_steps=0.05, num_train_epochs=50,
        remove_unused_columns=False, dataloader_drop_last=False, save_strategy="no",
    )  # fmt: skip
    trainer = AugmentedTrainer(
        model=model, args=args, train_dataset=dataset["train"].select(labelled), data_collator=ImageCollator(with_labels=True),
        augmentation=build_augmentation(recipe.augment, image_size, num_channels),
    )  # fmt: skip
    model, results = train_and_save(recipe, trainer, model)

    prediction = trainer.predict(dataset["test"])
    results.update({
        "eval/accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean()),
        "data/label_fraction": float(recipe.data.label_fraction),
        "data/labels_used": int(len(labelled)),
        "data/labels_per_class_min": int(per_class.min()),
        "data/labels_per_class_max": int(per_class.max()),
    })  # fmt: skip
    write_card(recipe, results, len(train_labels))
    return results


def build_classifier(recipe, dataset, num_channels: int, image_size: int, pretrained, labelled=None):
    """The classifier: the recipe's head on an encoder of ``pretrained``'s sizes and weights (or fresh ones), the
    head fitted on the ``labelled`` training rows with ``model.head_init=probe``, LoRA-wrapped when the recipe has
    a ``lora`` section."""
    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModelForImageClassification

    from hf_replearn.models.image_classification import load_encoder_weights
    from hf_replearn.training.lora import apply_lora

    names = dataset["train"].features["label"].names
    fields = recipe.model.config_kwargs()
    if pretrained is not None:  # its sizes (in the recipe already); its backbone weights come from its safetensors below
        fields.update(backbone_pretrained=False)
        # a transformers backbone: built as the run built it, reading pixels as it read them
        fields.update({k: getattr(pretrained, k) for k in BACKBONE_RECORD if getattr(pretrained, k, None)})
    config = build_or_explain(recipe, lambda: ImageClassifierConfig(
        num_channels=num_channels, image_size=image_size, id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)}, **fields,
    ))  # fmt: skip
    model = AutoModelForImageClassification.from_config(config)
    if pretrained is not None:
        load_encoder_weights(model, recipe.model.init_from)
    if recipe.model.head_init == "probe":
        from hf_replearn.data.images import split_arrays
        from hf_replearn.utils.progress import stage

        with stage("finetune", f"head from a logistic regression on the encoder's h of {len(labelled)} labelled images"):
            pixels, labels = split_arrays(dataset["train"].select(labelled))
            fit_head_by_probe(model, pixels, labels)
    if not recipe.lora.enabled:
        return model
    import torch

    # The head is new: it trains fully (modules_to_save); LoRA adapts the encoder's layers.
    targets = recipe.lora.target_modules or [name for name, m in model.named_modules() if name.startswith("encoder.")
                                             and isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]  # fmt: skip
    section = dataclasses.replace(recipe.lora, target_modules=targets,
                                  modules_to_save=[*(recipe.lora.modules_to_save or []), "classifier"])  # fmt: skip
    return apply_lora(model, section)


def fit_head_by_probe(model, pixels: np.ndarray, labels: np.ndarray) -> None:
    """Sets ``model``'s linear head to scikit-learn's ``LogisticRegression()`` fitted on the frozen encoder's h of
    ``pixels`` (uint8, N x C x H x W, read as the probes read them) and their ``labels`` (class indices), in place.
    The features are not standardised: the head reads h as it is."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from hf_replearn.evaluation.image_features import extract_features

    head = model.classifier[-1]
    h = extract_features(model, pixels)  # h = f(x) in eval mode, the model's mode restored
    probe = LogisticRegression(max_iter=1000).fit(h, labels)
    coef, intercept = probe.coef_, probe.intercept_
    if len(probe.classes_) == 2:  # one row for two classes in scikit-learn; +/- half of it give the same softmax
        coef, intercept = np.stack([-coef[0], coef[0]]) / 2, np.array([-intercept[0], intercept[0]]) / 2
    rows = torch.from_numpy(probe.classes_.astype(np.int64))
    with torch.no_grad():  # a class without labelled images (a dataset_limit run) keeps its random row
        head.weight[rows] = torch.from_numpy(coef).to(head.weight.dtype)
        head.bias[rows] = torch.from_numpy(intercept).to(head.bias.dtype)


def write_card(recipe: FinetuneImagesRecipe, results: dict, num_train: int) -> None:
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.utils.distributed import is_main_process

    if not is_main_process():
        return
    model = recipe.model
    start = (f"the encoder of `{model.init_from}` (its heads dropped)" if model.init_from
             else f"`{model.backbone}`" + (" (pretrained weights)" if model.backbone_pretrained else " (random weights)")
             if model.backbone else "random weights (from scratch)")  # fmt: skip
    lines = [
        f"Fine-tuned end to end for classification on {recipe.data.name}, starting from {start}, with a new "
        f"{'MLP' if model.classifier_hidden_dim else 'linear'} head"
        + (" started from a logistic regression on the frozen encoder's features of the labelled images (LP-FT)."
           if model.head_init == "probe" else "."),
        "",
        "| label fraction | labels used | per class | label seed | test accuracy |",
        "|---|---|---|---|---|",
        f"| {recipe.data.label_fraction:g} | {results['data/labels_used']:,} of {num_train:,} | "
        f"{results['data/labels_per_class_min']}-{results['data/labels_per_class_max']} | {recipe.data.label_seed} | "
        f"{results['eval/accuracy']:.4f} |",
    ]
    if recipe.lora.enabled:
        lines += ["", f"LoRA (r={recipe.lora.r}, alpha={recipe.lora.alpha:g}) on the encoder, head trained fully: "
                      f"{results['model/trainable_params']:,} of {results['model/total_params']:,} parameters trained; "
                      "the weights here are merged, the adapter alone is in `adapter/`."]  # fmt: skip
    base = model.backbone if model.backbone and model.backbone_pretrained and not model.init_from else None
    write_model_card(recipe.output_dir, recipe, results, {"Semi-supervised fine-tuning": "\n".join(lines)},
                     dataset_name=recipe.data.name, base_model=base)  # fmt: skip
