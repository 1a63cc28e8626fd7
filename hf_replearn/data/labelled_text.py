"""A user's own labelled texts: a CSV / TSV / JSON / JSONL table (or a ``datasets`` split) with one or two text
columns and a label column, read the same way by ``hf-replearn eval probe --dataset reviews.csv`` and by the glue
recipe's ``data.task=text_classification``.

Labels may be strings or integers; the classes are the label values of the training split in sorted order
(``id2label`` of a fine-tuned model, the probe's class names). Every check names the split, the data row
(counted from 1, without the header) and the fix.
"""

from __future__ import annotations

from pathlib import Path

from hf_replearn.errors import UserError

TEXT_FILES = (".csv", ".tsv", ".json", ".jsonl")
HELD_OUT_FRACTION = 0.25
"""Of a single labelled file, the seeded, stratified share held out for testing."""


def check_held_out_split(counts: dict, where: str, unit: str, fix: str) -> None:
    """Whether examples of these class ``counts`` ({class: examples}) can be split into a stratified training set and
    ``HELD_OUT_FRACTION`` held out: every class needs 2 examples, and each side one example of every class, so
    ``ceil(fraction N)`` and ``N - ceil(fraction N)`` must both reach the class count (scikit-learn's and datasets'
    condition). A UserError opening with ``where``, counting ``unit`` (rows, clips), ending with ``fix``."""
    import math

    rare = [c for c, n in counts.items() if n < 2]
    if rare:
        raise UserError(f"{where}: class(es) {', '.join(map(repr, rare[:5]))} have a single {unit.rstrip('s')}; holding "
                        f"out a test quarter needs at least 2 per class ({fix})")  # fmt: skip
    n, k = sum(counts.values()), len(counts)
    held = lambda m: math.ceil(HELD_OUT_FRACTION * m)  # noqa: E731
    if held(n) < k or n - held(n) < k:
        need = next(m for m in range(n, 4 * n + 4 * k) if held(m) >= k and m - held(m) >= k)
        raise UserError(f"{where}: {n} {unit} of {k} classes; a test quarter held out with every class on both sides "
                        f"needs at least {need} ({fix})")  # fmt: skip


def read_table(path: Path, located: str, column_names=None, names_key: str = "data.column_names"):
    """One file as a ``datasets.Dataset``; a UserError opening with ``located`` (the option that named the file:
    ``data.data_files.train = FILE``) when it is absent, of another format or cannot be parsed. ``column_names``:
    the columns of a CSV / TSV without a header row, in order (``names_key`` is the option that set them)."""
    from hf_replearn.data.text import parse_files

    if not path.is_file():
        raise UserError(f"{located} does not exist; give the path of a JSON/CSV/TSV file")
    suffix = path.suffix.lower()
    if suffix not in TEXT_FILES:
        raise UserError(f"{located}: use a .json, .jsonl, .csv or .tsv file")
    if column_names and suffix in (".json", ".jsonl"):
        raise UserError(f"{names_key} names the columns of a CSV / TSV file without a header; {path}'s JSON rows "
                        "name their own: leave it out")
    kwargs = {} if suffix in (".json", ".jsonl") else {"delimiter": "\t" if suffix == ".tsv" else ","}
    if column_names:
        kwargs["column_names"] = list(column_names)
    return parse_files("json" if suffix in (".json", ".jsonl") else "csv", str(path), f"{located} could not be parsed", **kwargs)


def read_datasets(name: str, where: str, fix: str):
    """A ``save_to_disk`` folder or a hub dataset id as a ``DatasetDict``; a UserError saying which could not be
    read and ``fix``."""
    import datasets

    try:
        ds = datasets.load_from_disk(name) if Path(name).is_dir() else datasets.load_dataset(name)
    except Exception as err:  # offline, unknown id, or not a datasets folder: say which
        raise UserError(f"{where}: could not load it as a datasets folder or hub id ({type(err).__name__}: "
                        f"{str(err)[:200]}); {fix}") from None
    if not isinstance(ds, datasets.DatasetDict):
        raise UserError(f"{where} holds a single split; save a DatasetDict with a `train` split (and `validation` or `test`)")
    return ds


def resolve_columns(table, columns, label_column: str, where: str, keys=("--text-column", "--label-column")) -> tuple[str, ...]:
    """The text column(s) of ``table`` (default ``text`` or ``sentence``), after checking that they and the label
    column exist; ``keys`` are the option names the messages tell the user to set (text, label, and optionally
    the column names of a file without a header)."""
    text_key, label_key = keys[:2]
    headerless = f" (a CSV without a header row: name its columns with {keys[2]})" if len(keys) > 2 else ""
    found = list(table.column_names)
    if label_column not in found:
        raise UserError(f"{where}: no label column `{label_column}`; the columns found are {', '.join(found)}; "
                        f"name the right one with {label_key}{headerless}")
    if not columns:
        columns = [next((c for c in ("text", "sentence") if c in found), None)]
        if columns[0] is None:
            raise UserError(f"{where}: no `text` or `sentence` column; the columns found are {', '.join(found)}; "
                            f"name the text with {text_key} (two columns for sentence pairs)")
    missing = [c for c in columns if c not in found]
    if missing:
        raise UserError(f"{where}: no text column {', '.join(missing)}; the columns found are {', '.join(found)}")
    if len(columns) > 2:
        raise UserError(f"{text_key} names {len(columns)} columns; one for single texts, two for pairs")
    if label_column in columns:
        raise UserError(f"{where}: `{label_column}` is both the label and a text column; name the text with {text_key}")
    return tuple(columns)


def check_labels(split, label_column: str, where: str) -> None:
    """Every row has a label: a missing one would silently become a class of its own."""
    empty = [i for i, v in enumerate(split[label_column]) if v is None or (isinstance(v, str) and not v.strip())]
    if empty:
        rows = ", ".join(str(i + 1) for i in empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        raise UserError(f"{where}: {len(empty)} row(s) without a `{label_column}` label (data row {rows}, counted from 1 "
                        "without the header); fill in the labels or delete those rows")


def label_value(value):
    """A label as a class: integral floats (a CSV column with a blank read as float) become ints."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def sorted_classes(values) -> list:
    """Distinct label values in sorted order (numbers numerically, strings alphabetically, never mixed up)."""
    return sorted(set(values), key=lambda v: (str(type(v)), v))


def texts(split, columns) -> list:
    """The texts of ``columns`` (one: strings; two: (a, b) pairs); an empty field is an empty text."""
    cols = [["" if v is None else str(v) for v in split[c]] for c in columns]
    return cols[0] if len(cols) == 1 else list(zip(*cols))


TEXT_CLASSIFICATION = "text_classification"
"""The glue recipe's ``data.task`` for a user's own files."""
EVAL_SPLITS = ("validation", "test")


def load_text_classification(data_files: dict | None, columns, label_column: str, seed: int = 0, where: str | None = "data",
                             keys=("data.text_columns", "data.label_column", "data.column_names"),
                             column_names=None, dataset: str | None = None):  # fmt: skip
    """(``DatasetDict``, ``GlueTask``) for a user's labelled files, so the glue recipe fine-tunes on them as on a GLUE
    task: the text column(s) under their own names, ``label`` as class ids, metrics accuracy and macro F1.

    ``data_files``: ``{train: file}``, with ``validation`` and / or ``test`` (each is evaluated); with ``train``
    alone, a seeded, stratified quarter of it is held out as ``validation``. ``column_names``: the columns of
    CSV / TSV files without a header row. ``dataset``: instead of files, a ``save_to_disk`` folder or hub dataset
    id with the same splits (a ``ClassLabel`` column keeps its class names; its -1, "no label", is refused). ``where``: the recipe section the messages name
    (``data.data_files.train = FILE``); None for ``eval probe --dataset FILE``, whose messages name the file and
    ``keys`` its flags (text columns, label column, column names).
    """
    from collections import Counter

    from datasets import ClassLabel, Dataset, DatasetDict

    from hf_replearn.data.glue_task import GlueTask

    if dataset and data_files:
        raise UserError(f"{where}.dataset and {where}.data_files both name the data; keep one")
    if dataset:
        found = read_datasets(dataset, f"{where}.dataset={dataset}", "give a folder written by save_to_disk, a hub dataset "
                              f"id the hub serves, or your files as {where}.data_files")  # fmt: skip
        tables = {split: found[split] for split in ("train", *EVAL_SPLITS) if split in found}
        if "train" not in tables:
            raise UserError(f"{where}.dataset={dataset}: splits {', '.join(found)}; it needs a `train` split")
        located = {split: f"{where}.dataset={dataset} ({split} split)" for split in tables}
        name = Path(dataset).name if Path(dataset).is_dir() else dataset
    else:
        if not data_files or "train" not in data_files:
            raise UserError(f"{where}.task={TEXT_CLASSIFICATION} fine-tunes on your own files: set "
                            f"{where}.data_files={{train: reviews.csv}} (and validation: / test: files, or a quarter of train is "
                            f"held out), {keys[0]}=[review] and {keys[1]}=stars; or {where}.dataset=<save_to_disk folder or "
                            "hub dataset id>")  # fmt: skip
        unknown = sorted(set(data_files) - {"train", *EVAL_SPLITS})
        if unknown:
            raise UserError(f"{where}.data_files: unknown split(s) {', '.join(unknown)}; name the files train, validation, test")
        located = {split: f"{where}.data_files.{split} = {path}" if where else f"--dataset {path}" for split, path in data_files.items()}
        tables = {split: read_table(Path(path), located[split], column_names, keys[2]) for split, path in data_files.items()}
        name = Path(data_files["train"]).stem
    cols = resolve_columns(tables["train"], columns, label_column, located["train"], keys)
    for split, table in tables.items():
        resolve_columns(table, cols, label_column, located[split], keys)
    named = getattr(tables["train"].features[label_column], "names", None)  # a ClassLabel: its ids and names
    labels = {split: [None if named and v is not None and v < 0 else label_value(v) for v in table[label_column]]
              for split, table in tables.items()}  # a ClassLabel's -1 is its "no label"  # fmt: skip
    for split, values in labels.items():
        check_labels({label_column: values}, label_column, located[split])
    classes = list(range(len(named))) if named else sorted_classes(labels["train"])
    if len(classes) < 2:
        raise UserError(f"{located['train']}: every row has the label {classes[0]!r}; a classifier needs at least 2 classes")
    ids = {c: i for i, c in enumerate(classes)}
    for split in tables:
        unseen = next(((row, v) for row, v in enumerate(labels[split]) if v not in ids), None)
        if unseen:
            raise UserError(f"{located[split]}: data row {unseen[0] + 1} has the label {unseen[1]!r}, which no training row "
                            f"has (the classes: {', '.join(map(repr, classes[:10]))}{' ...' if len(classes) > 10 else ''}); "
                            "fix the label or add training rows of that class")  # fmt: skip
    features = ClassLabel(names=list(named) if named else [str(c) for c in classes])
    ds = DatasetDict({
        split: Dataset.from_dict({**{c: texts(table, [c]) for c in cols}, "label": [ids[v] for v in labels[split]]})
        .cast_column("label", features)
        for split, table in tables.items()
    })  # fmt: skip
    if len(ds) == 1:
        give = f", or give {where}.data_files.validation" if where else ""
        check_held_out_split(Counter(labels["train"]), f"{located['train']}, `{label_column}`", "rows",
                             f"add rows, or drop the rows of the rarest classes{give}")
        held = ds["train"].train_test_split(test_size=HELD_OUT_FRACTION, seed=seed, stratify_by_column="label")
        ds = DatasetDict(train=held["train"], validation=held["test"])
    task = GlueTask(name, cols, tuple(features.names), "classification", eval_splits=tuple(s for s in EVAL_SPLITS if s in ds),
                    description=f"`{label_column}` of {dataset or data_files['train']}")
    return ds, task
