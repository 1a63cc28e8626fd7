"""GLUE tasks as a table, and loading them from the hub, the GLUE distribution's TSV files, or JSON / CSV.

Wang et al., "GLUE: A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding"
(ICLR 2019). Each task is one :class:`GlueTask` row: its sentence keys (the column names of the hub
dataset ``nyu-mll/glue``), its labels (``None`` for the STS-B regression), its evaluation splits, and
the metric configuration of ``hf_replearn.evaluation.load_metric("glue", ...)``. The embedded tasks of
:mod:`hf_replearn.data.embedded_text` are rows of the same kind, so one recipe runs them all.

Local files: ``data_dir`` in the layout of the GLUE distribution (``<data_dir>/SST-2/train.tsv``,
``dev.tsv``; MNLI ``dev_matched.tsv`` / ``dev_mismatched.tsv``), or ``data_files`` mapping split names to
``.json`` / ``.jsonl`` / ``.csv`` / ``.tsv`` files whose columns are the task's sentence keys and ``label``.
"""

from __future__ import annotations

import csv
import difflib
from pathlib import Path

from hf_replearn.data.embedded_text import EMBEDDED_TASKS, load_embedded
from hf_replearn.data.glue_task import GlueTask
from hf_replearn.data.labelled_text import read_table
from hf_replearn.data.paths import load_dataset_or_explain
from hf_replearn.errors import UserError


_NLI = ("entailment", "not_entailment")
GLUE_TASKS: dict[str, GlueTask] = {
    t.name: t
    for t in [
        GlueTask("cola", ("sentence",), ("unacceptable", "acceptable"), "cola", tsv_dir="CoLA", tsv_columns=(3, 1)),
        GlueTask("sst2", ("sentence",), ("negative", "positive"), "sst2", tsv_dir="SST-2", tsv_columns=("sentence", "label")),
        GlueTask("mrpc", ("sentence1", "sentence2"), ("not_equivalent", "equivalent"), "mrpc", tsv_dir="MRPC",
                 tsv_columns=("#1 String", "#2 String", "Quality")),
        GlueTask("qqp", ("question1", "question2"), ("not_duplicate", "duplicate"), "qqp", tsv_dir="QQP",
                 tsv_columns=("question1", "question2", "is_duplicate")),
        GlueTask("stsb", ("sentence1", "sentence2"), None, "stsb", tsv_dir="STS-B",
                 tsv_columns=("sentence1", "sentence2", "score")),
        GlueTask("mnli", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"), "mnli",
                 eval_splits=("validation_matched", "validation_mismatched"), tsv_dir="MNLI",
                 tsv_columns=("sentence1", "sentence2", "gold_label")),
        GlueTask("qnli", ("question", "sentence"), _NLI, "qnli", tsv_dir="QNLI", tsv_columns=("question", "sentence", "label")),
        GlueTask("rte", ("sentence1", "sentence2"), _NLI, "rte", tsv_dir="RTE", tsv_columns=("sentence1", "sentence2", "label")),
        GlueTask("wnli", ("sentence1", "sentence2"), ("not_entailment", "entailment"), "wnli", tsv_dir="WNLI",
                 tsv_columns=("sentence1", "sentence2", "label")),
    ]
}  # fmt: skip
_TSV_FILES = {"train": "train.tsv", "validation": "dev.tsv",
              "validation_matched": "dev_matched.tsv", "validation_mismatched": "dev_mismatched.tsv"}  # fmt: skip
HUB_DATASET = "nyu-mll/glue"


def all_tasks() -> dict[str, GlueTask]:
    return {**GLUE_TASKS, **EMBEDDED_TASKS}


def get_glue_task(name: str, where: str = "recipe") -> GlueTask:
    tasks = all_tasks()
    if name not in tasks:
        close = difflib.get_close_matches(str(name).lower().replace("-", ""), list(tasks), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise UserError(
            f"{where}: `{name}` is not a GLUE task{hint} (GLUE: {', '.join(GLUE_TASKS)}; embedded: "
            f"{', '.join(t for t in tasks if t not in GLUE_TASKS)}; your own labelled files: text_classification)"
        )
    return tasks[name]


def load_glue(task: GlueTask, data_dir=None, data_files: dict | None = None, seed: int = 0, where="data"):
    """A ``DatasetDict`` with ``train`` and the task's evaluation splits, checked by :func:`validate_glue`."""
    from datasets import DatasetDict

    if data_files:
        ds = DatasetDict({split: read_table(Path(path), f"{where}.data_files.{split} = {path}")
                          for split, path in data_files.items()})  # fmt: skip
    elif data_dir:
        ds = _load_distribution(task, Path(data_dir), where)
    elif task.name in EMBEDDED_TASKS:
        ds = load_embedded(task.name, seed=seed)
    else:
        ds = load_dataset_or_explain(
            HUB_DATASET, task.name, what=f"{where}: could not load `{HUB_DATASET}`/{task.name} from the hub",
            fix=f"download GLUE and set data.data_dir=<folder holding {task.tsv_dir}/>, or set "
                "data.data_files={train: ..., validation: ...} to JSON / CSV / TSV files",
        )  # fmt: skip
        ds = DatasetDict({k: v for k, v in ds.items() if k != "test" and not k.startswith("test_")})
    return validate_glue(ds, task, where)


def _load_distribution(task: GlueTask, data_dir: Path, where: str):
    """Read the GLUE distribution's TSVs (quote characters are text there, not CSV quoting)."""
    from datasets import Dataset, DatasetDict

    if not task.tsv_dir:
        raise UserError(f"{where}: task `{task.name}` has no GLUE-distribution layout; use data.data_files")
    folder = data_dir / task.tsv_dir if (data_dir / task.tsv_dir).is_dir() else data_dir
    out = {}
    for split in ("train", *task.eval_splits):
        path = folder / _TSV_FILES[split]
        if not path.is_file():
            raise UserError(f"{where}: {path} is missing; data.data_dir must hold {task.tsv_dir}/{_TSV_FILES[split]}")
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        header = isinstance(task.tsv_columns[0], str)
        index = [rows[0].index(c) if c in rows[0] else -1 for c in task.tsv_columns] if header else list(task.tsv_columns)
        if -1 in index:
            lost = [c for c, i in zip(task.tsv_columns, index) if i < 0]
            raise UserError(f"{where}: {path} has no column(s) {lost} in its header {rows[0]}; is it the {task.name} file?")
        columns = {name: [] for name in (*task.keys, "label")}
        for line, row in enumerate(rows[1:] if header else rows, start=2 if header else 1):
            if len(row) <= max(index):
                raise UserError(f"{where}: {path}, line {line} has {len(row)} fields, expected at least {max(index) + 1}; "
                                "fix or delete the line")  # fmt: skip
            for name, i in zip(columns, index):
                columns[name].append(row[i])
        out[split] = Dataset.from_dict(columns)
    return DatasetDict(out)


def validate_glue(ds, task: GlueTask, where: str = "data"):
    """Check sentence columns and labels; map label names / numeric strings to ids (floats for STS-B)."""
    for split, data in ds.items():
        missing = [k for k in (*task.keys, "label") if k not in data.column_names]
        if missing:
            raise UserError(
                f"{where}: split `{split}` lacks column(s) {', '.join(missing)} (has {', '.join(data.column_names)}); "
                f"task {task.name} needs {', '.join(task.keys)} and label; rename the columns in your file"
            )
        labels = [_label(v, task, where, split, row) for row, v in enumerate(data["label"])]
        ds[split] = data.remove_columns("label").add_column("label", labels)
    return ds


def _label(value, task: GlueTask, where: str, split: str, row: int):
    if task.is_regression:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise UserError(
                f"{where}: split `{split}`, row {row}: label {value!r} is a class label, but {task.name} is a "
                "regression task; give a number (STS-B: a similarity score from 0 to 5)"
            ) from None
    names = task.label_names
    if isinstance(value, str):
        if value in names:
            return names.index(value)
        if value.strip().lstrip("-").isdigit():
            value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return value
    raise UserError(
        f"{where}: split `{split}`, row {row}: label {value!r} is outside the label set of {task.name} "
        f"(0..{len(names) - 1} or {', '.join(names)}); fix the row or choose the task whose labels it uses"
    )
