"""Image-text pairs for the clip task: the embedded emoji, or a user's own captioned images.

A user's pairs are what ``datasets`` reads: a local folder of images with a ``metadata.jsonl`` / ``metadata.csv``
(``file_name`` and a caption column, as datasets' imagefolder and the diffusers training scripts take them), any
folder or file datasets infers, or a hub dataset id. A caption cell is a string, or a list of strings for images
with several captions (COCO-style): training draws one of them at each step, evaluation pairs each image with its
first. A label column, when there is one, gives zero-shot classification from prompts of its class names and the
image tower's few-label probe; without one the run reports retrieval.

The held-out images are the dataset's ``test`` split, else a seeded ``held_out_fraction`` of its images.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from hf_replearn.errors import UserError

EMOJI = "emoji"
IMAGE_COLUMNS = ("image", "img", "file_name", "path", "image_path", "filepath")  # images, or their files' paths
CAPTION_COLUMNS = ("text", "caption", "captions", "sentence", "sentences")
LABEL_COLUMNS = ("label", "labels")
EMOJI_ONLY = ("skin_tones", "max_keywords", "category_captions")


@dataclass
class ImageTextConfig:
    """The image-text pairs (``data`` section of the clip recipes)."""

    name: str = EMOJI
    """``emoji`` (the colour emoji font with Unicode names and CLDR keywords), or your own captioned images: a local
    folder (images and a ``metadata.jsonl`` / ``metadata.csv`` with ``file_name`` and a caption column), another
    folder or file ``datasets`` reads, or a hub dataset id."""
    image_size: int = 32
    """Every image is resized to image_size x image_size (emoji are rendered at 109 px)."""
    held_out_fraction: float = 0.15
    """Fraction held out for evaluation, seeded by ``seed``: of the base emoji (with their skin-tone variants), or of
    your images when the dataset has no ``test`` split."""
    image_column: str | None = None
    """Your dataset's image column (``None``: detected)."""
    caption_column: str | None = None
    """Your dataset's caption column, strings or lists of strings (``None``: the first of text, caption, captions,
    sentence, sentences)."""
    label_column: str | None = None
    """Your dataset's class labels, for zero-shot classification and the probe (``None``: a ClassLabel column or
    one named label / labels, if any)."""
    trust_remote_code: bool = False
    """Allow a hub dataset's own loading script to run."""
    skin_tones: bool = False
    """Emoji only: keep the skin-tone variants (1,785 more emoji, each its base in another colour)."""
    max_keywords: int = 8
    """Emoji only: at most this many keywords in a training caption (a random subset each time it is drawn)."""
    category_captions: float = 0.0
    """Emoji only: probability that a training caption also names the emoji's group and subgroup ("an emoji of dog
    face, animals and nature, animal mammal: dog, pet"), as web captions often name what a picture is of: zero-shot
    classification of held-out emoji then meets the class names in the text it was trained on (CLIP's premise)."""

    @property
    def is_emoji(self) -> bool:
        return self.name == EMOJI

    def validate(self) -> None:
        if not 0 < self.held_out_fraction < 1:
            raise UserError(f"data.held_out_fraction must lie in (0, 1), got {self.held_out_fraction}")
        if self.image_size < 8:
            raise UserError(f"data.image_size must be at least 8 pixels, got {self.image_size}")
        if self.max_keywords < 0:
            raise UserError(f"data.max_keywords must be >= 0, got {self.max_keywords}")
        if not 0 <= self.category_captions <= 1:
            raise UserError(f"data.category_captions is a probability and must lie in [0, 1], got {self.category_captions}")
        if not self.is_emoji:
            set_here = [f.name for f in fields(self) if f.name in EMOJI_ONLY and getattr(self, f.name) != f.default]
            if set_here:
                raise UserError(f"data.{set_here[0]} applies to the emoji only (data.name=emoji), not to "
                                f"data.name={self.name}; remove it")
        elif any((self.image_column, self.caption_column, self.label_column)):
            raise UserError("data.image_column / caption_column / label_column name the columns of your own dataset; "
                            "with data.name=emoji remove them, or set data.name=<your folder or dataset id>")


@dataclass
class CaptionedImages:
    """A user's pairs: ``images`` uint8 (N, 3, H, W), ``captions[i]`` the texts of image i (at least one),
    ``train`` / ``test`` index arrays, and, when the dataset has them, ``labels`` (N,) into ``class_names``."""

    images: np.ndarray
    captions: list[tuple[str, ...]]
    train: np.ndarray
    test: np.ndarray
    labels: np.ndarray | None = None
    class_names: list[str] | None = None


def _caption_cells(values, where: str) -> list[tuple[str, ...]]:
    out = []
    for row, value in enumerate(values):
        texts = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise UserError(f"{where}, row {row}: the caption is {value!r}; every image needs a non-empty caption "
                            "(a string, or a list of strings); fill it in or remove the row")
        out.append(tuple(t.strip() for t in texts))
    return out


def _image_files(values, source: Path, where: str) -> list[dict]:
    """A column of image paths as datasets' undecoded Image entries; a relative path is read from the folder of the
    data file (or the data folder) that lists it."""
    base = source if source.is_dir() else source.parent if source.exists() else Path.cwd()
    entries = []
    for row, value in enumerate(values):
        file = Path(str(value)).expanduser()
        file = file if file.is_absolute() else base / file
        if not isinstance(value, str) or not file.is_file():
            raise UserError(f"{where}, row {row}: {value!r} is not an image file (looked for {file}); an image column "
                            "holds images or paths relative to the data file's folder")
        entries.append({"path": str(file), "bytes": None})
    return entries


def load_captioned_images(cfg: ImageTextConfig, seed: int) -> CaptionedImages:
    """``cfg.name``'s pairs, every image resized to ``cfg.image_size`` and in RGB, split as the module says."""
    import datasets

    from hf_replearn.data.images import _decode_each, _detect, _image_arrays
    from hf_replearn.data.paths import load_dataset_or_explain

    where, path = f"dataset `{cfg.name}`", Path(cfg.name).expanduser()
    if not path.exists() and (cfg.name.startswith(("/", ".", "~")) or path.suffix in (".csv", ".json", ".jsonl", ".parquet")):
        raise UserError(f"data.name={cfg.name}: no such file or folder; give a folder of images with a metadata.jsonl "
                        "(file_name and a caption per image), a CSV / JSON file of image paths and captions, or emoji")
    if path.is_file():  # a CSV / JSON(L) / TSV of captions and image paths
        from hf_replearn.data.labelled_text import read_table

        raw = datasets.DatasetDict(train=read_table(path, f"data.name = {cfg.name}"))
    else:
        raw = load_dataset_or_explain(
            str(path) if path.exists() else cfg.name,
            trust_remote_code=cfg.trust_remote_code, what=f"could not load image-text dataset `{cfg.name}`",
            fix="data.name must be emoji, a folder of images with a metadata.jsonl / metadata.csv (file_name, text), "
                "a CSV / JSON file of image paths and captions, or a reachable hub dataset id")  # fmt: skip
    if "train" not in raw:
        raise UserError(f"{where} has no train split (it has {', '.join(raw)}); name the training split train")
    columns, features = raw["train"].column_names, raw["train"].features
    image_col = _detect(columns, features, cfg.image_column, "image", IMAGE_COLUMNS, cfg, required=False)
    if image_col is None:
        raise UserError(f"{where} has no image column (its columns: {columns}); a folder needs its image files beside "
                        "a metadata.jsonl whose file_name names them, or name the column with data.image_column=<column>")
    caption_col = _detect(columns, features, cfg.caption_column, "caption", CAPTION_COLUMNS, cfg)
    label_col = _detect(columns, features, cfg.label_column, "label", LABEL_COLUMNS, cfg, required=False)

    splits = ["train"] + (["test"] if "test" in raw else [])
    images, captions, labels = [], [], []
    for split in splits:
        table = raw[split]
        if caption_col not in table.column_names:
            raise UserError(f"{where}, split {split}, has no column `{caption_col}`; give every split the same columns")
        captions += _caption_cells(table[caption_col], f"{where}, split {split}")
        if isinstance(table.features[image_col], datasets.Image):
            arrays = _image_arrays(table, image_col, cfg, split)
        else:  # paths, as a CSV of captions beside (or below) its images gives them
            arrays = _decode_each(_image_files(table[image_col], path, f"{where}, split {split}, column `{image_col}`"), cfg, split)
        images += [np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a for a in arrays]  # grey as RGB: both towers see colour
        if label_col is not None:
            labels += [str(v) if not isinstance(table.features[label_col], datasets.ClassLabel)
                       else table.features[label_col].int2str(v) for v in table[label_col]]  # fmt: skip
    n_train = len(raw["train"])
    if "test" in raw:
        train, test = np.arange(n_train), np.arange(n_train, len(images))
    else:
        order = np.random.default_rng(seed).permutation(n_train)
        held = max(1, round(cfg.held_out_fraction * n_train))
        train, test = np.sort(order[held:]), np.sort(order[:held])
    if len(test) < 2 or len(train) < 2:
        raise UserError(f"{where}: {len(train)} training and {len(test)} held-out images; retrieval needs at least 2 of "
                        "each: add images, or change data.held_out_fraction")
    class_names = sorted(set(labels)) if labels else None
    return CaptionedImages(
        images=np.stack(images), captions=captions, train=train, test=test,
        labels=np.array([class_names.index(v) for v in labels]) if labels else None, class_names=class_names,
    )  # fmt: skip


class CaptionCollator:
    """Rows ``{"pixel_values": uint8 (3, H, W), "index": i}`` -> images in [0, 1] and one tokenized caption per
    image, drawn among its captions from a generator seeded by ``seed`` and the batch's indices (so a resumed run
    draws the captions of an uninterrupted one, as ``EmojiTextCollator`` does)."""

    def __init__(self, captions: list[tuple[str, ...]], tokenizer, max_length: int, seed: int = 0):
        self.captions, self.tokenizer, self.max_length, self.seed = captions, tokenizer, max_length, seed

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        pixels = torch.from_numpy(np.stack([np.asarray(r["pixel_values"]) for r in rows])).float().div_(255)
        rng = np.random.default_rng([self.seed, *(int(r["index"]) for r in rows)])
        choices = [self.captions[int(r["index"])] for r in rows]
        texts = [texts[int(rng.integers(len(texts)))] for texts in choices]
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"pixel_values": pixels, "input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
