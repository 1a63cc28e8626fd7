"""Labelled data for the probe, any modality: train / test inputs and integer labels, checked before any work.

Text sources (``--dataset``):

- an embedded set: ``polarity``, ``bible_paraphrase`` (sentence pairs), ``wordnet_topic`` (their fixed
  train / validation split; validation is the probe's test set);
- a GLUE-format folder (``.../SST-2`` with ``train.tsv`` and ``dev.tsv``; the task is read from the folder name);
- a ``.csv`` / ``.tsv`` / ``.json`` / ``.jsonl`` file (a seeded, stratified quarter held out for testing) with
  ``--text-column`` (twice for pairs; default ``text`` or ``sentence``) and ``--label-column`` (default ``label``);
- a ``datasets`` folder (``save_to_disk``) or a hub dataset id, with train and test (or validation) splits.

Images: every source ``data.images.load_image_dataset`` reads (digits, fashion_mnist, an imagefolder ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hf_replearn.data.labelled_text import (HELD_OUT_FRACTION, TEXT_FILES, check_labels, read_datasets, resolve_columns,
                                             sorted_classes, texts)
from hf_replearn.errors import UserError

TEXT_EMBEDDED = ("polarity", "bible_paraphrase", "wordnet_topic")


@dataclass
class ProbeData:
    """One labelled set: ``train_x`` / ``test_x`` are texts, (a, b) pairs, or (N, C, H, W) uint8 images."""

    name: str
    modality: str
    train_x: object
    train_y: np.ndarray
    test_x: object
    test_y: np.ndarray
    class_names: list[str] | None = None
    image_dataset: object = field(default=None, repr=False)  # the DatasetDict, for the image recipes' own path

    def check_budgets(self, labels_per_class) -> None:
        """A budget larger than the smallest training class would silently give that class fewer labels; a test
        class without training examples would be scored although no probe can predict it."""
        classes, counts = np.unique(self.train_y, return_counts=True)
        if len(classes) < 2:
            raise UserError(f"--dataset {self.name}: the training split has {len(classes)} class; a probe needs at least 2")
        unseen = sorted(set(np.unique(self.test_y).tolist()) - set(classes.tolist()))
        if unseen:
            shown = ", ".join(repr(self.class_names[c]) if self.class_names else repr(c) for c in unseen)
            raise UserError(f"--dataset {self.name}: test class(es) {shown} have no training examples, so no probe can "
                            "predict them; add them to the training split or drop them from the test split")
        smallest = int(counts.min())
        too_big = [k for k in labels_per_class if k > smallest]
        if too_big:
            name = self.class_names[classes[counts.argmin()]] if self.class_names else classes[counts.argmin()]
            raise UserError(f"--labels-per-class {','.join(map(str, too_big))}: the smallest class ({name!r}) has only "
                            f"{smallest} training examples; use budgets of at most {smallest}")


def source_modality(name: str) -> str | None:
    """``text``, ``image`` or ``audio`` for a ``--dataset`` value; None for a hub id (the model's modality decides)."""
    path = Path(name)
    if name == "espeak":
        return "audio"
    if name in TEXT_EMBEDDED or path.suffix.lower() in TEXT_FILES or (path / "train.tsv").is_file():
        return "text"
    if path.is_dir() and next(path.rglob("*.wav"), None) is not None:
        return "audio"  # an audiofolder: one subfolder of .wav clips per class
    if (path / "dataset_dict.json").is_file():
        columns = set(_load_datasets(name)["train"].column_names)  # memory-mapped: reading the schema costs nothing
        return "audio" if "audio" in columns else "image" if columns & {"image", "img", "pixel_values"} else "text"
    if path.is_dir():
        return "image"  # an imagefolder
    from hf_replearn.data.images import EMBEDDED

    return "image" if name in EMBEDDED else None


def load_text_data(name: str, text_columns=(), label_column: str = "label", limit: int | None = None,
                   seed: int = 0, column_names=None) -> ProbeData:
    """Any text source above -> ProbeData (labels mapped to 0..K-1 in sorted order of their values)."""
    path = Path(name)
    if column_names and path.suffix.lower() not in (".csv", ".tsv"):
        raise UserError(f"--column-names names the columns of a csv/tsv file without a header; --dataset {name} is not one: "
                        "leave it out")
    if name in TEXT_EMBEDDED:
        from hf_replearn.data.embedded_text import EMBEDDED_TASKS, load_embedded

        ds, names = load_embedded(name), list(EMBEDDED_TASKS[name].label_names)
        return from_splits(name, ds["train"], ds["validation"], EMBEDDED_TASKS[name].keys, "label", names, limit)
    if path.is_dir() and (path / "train.tsv").is_file():
        return _glue_folder(path, limit)
    if path.suffix.lower() in TEXT_FILES:
        if not path.is_file():
            raise UserError(f"--dataset {path}: no such file")
        from hf_replearn.data.labelled_text import load_text_classification

        ds, task = load_text_classification({"train": name}, text_columns, label_column, seed, where=None,
                                            keys=("--text-column", "--label-column", "--column-names"),
                                            column_names=column_names)  # fmt: skip
        return from_splits(name, ds["train"], ds["validation"], task.keys, "label", list(task.label_names), limit)
    ds = _load_datasets(name)
    train = ds["train"]
    test = ds["test"] if "test" in ds else ds.get("validation")
    if test is None:
        raise UserError(f"--dataset {name}: splits {list(ds)}; the probe needs `train` and `test` (or `validation`)")
    columns = resolve_columns(train, text_columns, label_column, f"--dataset {name}")
    return from_splits(name, train, test, columns, label_column, None, limit)


def _load_datasets(name: str):
    return read_datasets(name, f"--dataset {name}", f"give an embedded set ({', '.join(TEXT_EMBEDDED)}), a csv/jsonl file, "
                         "or a folder written by save_to_disk")


def _glue_folder(path: Path, limit):
    from hf_replearn.data.glue import GLUE_TASKS, _load_distribution, validate_glue

    task = next((t for t in GLUE_TASKS.values() if t.tsv_dir and t.tsv_dir.lower() == path.name.lower()), None)
    if task is None or task.is_regression:
        choices = ", ".join(t.tsv_dir for t in GLUE_TASKS.values() if not t.is_regression)
        raise UserError(f"--dataset {path}: a GLUE-format folder is named after its task ({choices})")
    ds = validate_glue(_load_distribution(task, path, f"--dataset {path}"), task, f"--dataset {path}")  # label names -> ids
    return from_splits(str(path), ds["train"], ds[task.eval_splits[0]], task.keys, "label", list(task.label_names), limit)


def from_splits(name, train, test, columns, label_column, class_names, limit) -> ProbeData:
    """Two ``datasets`` splits -> text ProbeData: ``columns`` (one, or two for pairs) and ``label_column``;
    ``class_names`` None: read from a ClassLabel, else the sorted label values; ``limit`` bounds train."""
    if label_column not in test.column_names:
        raise UserError(f"--dataset {name}: the test split has no `{label_column}` column; its columns are {', '.join(test.column_names)}")
    if limit is not None:
        train = train.select(range(min(limit, len(train))))
    for split_name, split in (("train", train), ("test", test)):
        check_labels(split, label_column, f"--dataset {name} ({split_name} split)")

    raw_train, raw_test = list(train[label_column]), list(test[label_column])
    values = sorted_classes(raw_train + raw_test)
    if class_names is None:
        feature = train.features[label_column]
        class_names = list(feature.names) if hasattr(feature, "names") else [str(v) for v in values]
        index = {v: i for i, v in enumerate(values)} if not hasattr(feature, "names") else {i: i for i in range(len(class_names))}
    else:
        index = {i: i for i in range(len(class_names))}
    return ProbeData(name, "text", texts(train, columns), np.array([index[v] for v in raw_train]), texts(test, columns),
                     np.array([index[v] for v in raw_test]), class_names)


def load_image_data(name: str, image_size: int | None, limit: int | None) -> ProbeData:
    from hf_replearn.data.images import ImageDataConfig, load_image_dataset, split_arrays

    ds = load_image_dataset(ImageDataConfig(name=name, image_size=image_size), limit)
    (train_x, train_y), (test_x, test_y) = split_arrays(ds["train"]), split_arrays(ds["test"])
    feature = ds["train"].features["label"]
    return ProbeData(name, "image", train_x, train_y, test_x, test_y, getattr(feature, "names", None), ds)


def load_audio_folder(name: str, limit: int | None = None, seed: int = 0) -> ProbeData:
    """An audiofolder of labelled clips (``data.speech.read_audio_folder``) for the probe."""
    from hf_replearn.data.speech import read_audio_folder

    (train_x, train_y), (test_x, test_y), classes = read_audio_folder(Path(name), f"--dataset {name}", HELD_OUT_FRACTION, seed)
    if limit is not None:
        train_x, train_y = train_x[:limit], train_y[:limit]
    return ProbeData(name, "audio", train_x, train_y, test_x, test_y, classes)
