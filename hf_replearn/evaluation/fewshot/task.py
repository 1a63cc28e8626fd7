"""Few-shot task files in the style of lm-evaluation-harness, and their export to lm-eval.

A task YAML uses lm-eval's own keys, so a user who knows lm-eval reads it at once::

    task: incontext_binary
    dataset_path: json                     # a `datasets.load_dataset` builder, a local dataset folder, or
                                           # embedded:NAME, a GLUE-format set of hf_replearn.data.embedded_text
    dataset_kwargs: {data_files: {train: data/train.jsonl, test: data/test.jsonl}}
    test_split: test
    fewshot_split: train                   # demonstrations are drawn from here
    output_type: multiple_choice           # or generate_until
    doc_to_text: "{{input}} ->"            # Jinja template, or a bare column name
    doc_to_target: label                   # column, template, or int; for multiple_choice an index or a choice
    doc_to_choice: ["A", "B"]              # list (items may be templates), a column, or a template of a list
    target_delimiter: " "                  # between a text and its target/choice
    fewshot_delimiter: "\\n\\n"            # between demonstrations
    metric_list: [{metric: acc}, {metric: acc_norm}]
    generation_kwargs: {until: ["\\n"], max_gen_toks: 32}   # generate_until only

Relative ``data_files`` are resolved against the YAML's folder (lm-eval resolves them against the working
directory; :func:`export_lm_eval` writes absolute paths for that reason). Templates are rendered by Jinja2
with ``StrictUndefined``: a template naming a column the dataset lacks is a :class:`UserError` when the
task loads, not a silent empty string.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
from pathlib import Path
from typing import Any

import yaml

from hf_replearn.errors import UserError

OUTPUT_TYPES = ("multiple_choice", "generate_until")
METRICS = {
    "multiple_choice": ("acc", "acc_norm", "acc_mutual_info"),
    "generate_until": ("exact_match", "f1"),
}


@dataclasses.dataclass
class FewShotTask:
    """One few-shot task; field names and defaults are lm-eval's."""

    task: str
    dataset_path: str
    doc_to_text: str
    doc_to_target: Any
    output_type: str = "multiple_choice"
    dataset_name: str | None = None
    dataset_kwargs: dict = dataclasses.field(default_factory=dict)
    training_split: str | None = None
    validation_split: str | None = None
    test_split: str | None = None
    fewshot_split: str | None = None
    """Split the demonstrations come from; defaults to training, then validation, then the test split."""
    doc_to_choice: Any = None
    description: str = ""
    """Text put before the first demonstration."""
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    metric_list: list = dataclasses.field(default_factory=list)
    generation_kwargs: dict = dataclasses.field(default_factory=dict)
    num_fewshot: int | None = None
    limit: int | None = None
    """Evaluate the first N test documents only (not an lm-eval key; lm-eval takes ``--limit``)."""
    shuffle_seed: int | None = None
    """Shuffle each split with this seed before ``limit`` (not an lm-eval key): for files sorted by label.
    Both splits get the same permutation, so a split used for test and shots still excludes the document."""
    source: str = dataclasses.field(default="<dict>", metadata={"internal": True})

    # ------------------------------------------------------------------------------------- properties
    @property
    def eval_split(self) -> str:
        split = self.test_split or self.validation_split
        if not split:
            raise UserError(f"{self.source}: the task names no `test_split` or `validation_split`; add one")
        return split

    @property
    def shot_split(self) -> str:
        return self.fewshot_split or self.training_split or self.validation_split or self.eval_split

    @property
    def metrics(self) -> list[str]:
        names = [m["metric"] if isinstance(m, dict) else m for m in self.metric_list]
        return names or list(METRICS[self.output_type][:1])

    @property
    def until(self) -> list[str]:
        until = self.generation_kwargs.get("until", ["\n\n"])
        return [until] if isinstance(until, str) else list(until)

    @property
    def max_gen_toks(self) -> int:
        return int(self.generation_kwargs.get("max_gen_toks", 32))

    # ------------------------------------------------------------------------------------- rendering
    def text(self, doc: dict) -> str:
        return str(self._render("doc_to_text", self.doc_to_text, doc))

    def choices(self, doc: dict) -> list[str]:
        spec = self.doc_to_choice
        if isinstance(spec, list):
            choices = [str(self._render("doc_to_choice", c, doc)) for c in spec]
        elif isinstance(spec, str):
            value = self._render("doc_to_choice", spec, doc)
            if isinstance(value, str):  # a template that renders to a list literal, like lm-eval
                try:
                    value = ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    raise UserError(
                        f"{self.source}: doc_to_choice {spec!r} rendered to {value!r}, not a list of choices; "
                        "write a YAML list, a column holding a list, or a template such as \"{{choices}}\""
                    ) from None
            choices = [str(c) for c in value]
        else:
            raise UserError(f"{self.source}: a multiple_choice task needs `doc_to_choice` (a list or a column)")
        if not choices:
            raise UserError(f"{self.source}: doc_to_choice gave an empty choice list for document {doc!r}")
        return choices

    def target(self, doc: dict) -> int | str:
        """Index of the gold choice (multiple_choice) or the reference string (generate_until)."""
        value = self._render("doc_to_target", self.doc_to_target, doc)
        if self.output_type == "generate_until":
            return str(value)
        choices = self.choices(doc)
        if isinstance(value, str) and value in choices:
            return choices.index(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(choices):
            return value
        raise UserError(
            f"{self.source}: doc_to_target gave {value!r}, which is neither a choice nor an index into "
            f"{choices} (document {doc!r}); fix doc_to_target or doc_to_choice"
        )

    def target_text(self, doc: dict) -> str:
        """What follows ``target_delimiter`` in a demonstration."""
        target = self.target(doc)
        return self.choices(doc)[target] if self.output_type == "multiple_choice" else target

    def _render(self, key: str, spec, doc: dict):
        if isinstance(spec, str) and spec in doc:  # a bare column name, as lm-eval allows
            return doc[spec]
        if not isinstance(spec, str) or "{" not in spec:
            return spec
        from jinja2 import UndefinedError

        try:
            template = _environment().from_string(spec)
            return template.render(**doc)
        except UndefinedError as err:
            raise UserError(
                f"{self.source}: {key} template {spec!r} names a field the dataset lacks ({err.message}); "
                f"the columns are {sorted(doc)}"
            ) from None

    def check_columns(self, columns: list[str]) -> None:
        """Fail early, naming the key, when a template names a column the dataset lacks."""
        from jinja2 import meta

        env = _environment()
        for key in ("doc_to_text", "doc_to_target", "doc_to_choice"):
            specs = getattr(self, key)
            for spec in specs if isinstance(specs, list) else [specs]:
                if not isinstance(spec, str) or spec in columns or "{" not in spec:
                    continue
                missing = sorted(meta.find_undeclared_variables(env.parse(spec)) - set(columns))
                if missing:
                    close = difflib.get_close_matches(missing[0], columns, n=1)
                    hint = f"; did you mean `{close[0]}`?" if close else ""
                    raise UserError(
                        f"{self.source}: {key} template {spec!r} names field(s) {missing} that the dataset "
                        f"lacks{hint} (columns: {sorted(columns)}); fix the template"
                    )


def _environment():
    from jinja2 import Environment, StrictUndefined

    # keep_trailing_newline: "{{q}}\n" must render with its newline, as lm-eval's templates do
    return Environment(undefined=StrictUndefined, keep_trailing_newline=True)


# ------------------------------------------------------------------------------------------ loading


def load_task(path: str | Path, **overrides) -> FewShotTask:
    """Read a task YAML; ``overrides`` replace keys (e.g. ``limit=20``)."""
    from hf_replearn.config import read_yaml_mapping

    path = Path(path)
    raw = read_yaml_mapping(path, "task file", "recipes/fewshot/*.yaml", holds="lm-eval task keys")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return task_from_dict(raw, source=str(path), base_dir=path.parent)


def task_from_dict(raw: dict, source: str = "<dict>", base_dir: Path | None = None) -> FewShotTask:
    fields = {f.name for f in dataclasses.fields(FewShotTask) if not f.metadata.get("internal")}
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise UserError(f"{source}: unknown key `{key}`{hint} (valid: {', '.join(sorted(fields))})")
    for key in ("task", "dataset_path", "doc_to_text", "doc_to_target"):
        if key not in raw:
            raise UserError(f"{source}: missing required key `{key}`")
    raw = dict(raw)
    if raw.get("output_type", "multiple_choice") not in OUTPUT_TYPES:
        raise UserError(f"{source}: output_type must be one of {OUTPUT_TYPES}, got {raw['output_type']!r}")
    if base_dir is not None and "data_files" in raw.get("dataset_kwargs", {}):
        raw["dataset_kwargs"] = dict(raw["dataset_kwargs"])
        raw["dataset_kwargs"]["data_files"] = _resolve(raw["dataset_kwargs"]["data_files"], base_dir)
    task = FewShotTask(**raw, source=source)
    if task.output_type == "multiple_choice" and task.doc_to_choice is None:
        raise UserError(f"{source}: output_type multiple_choice needs `doc_to_choice` (a list or a column)")
    if isinstance(task.doc_to_choice, list) and not task.doc_to_choice:
        raise UserError(f"{source}: doc_to_choice is an empty list; give at least two choices")
    for metric in task.metrics:
        if metric not in METRICS[task.output_type]:
            raise UserError(
                f"{source}: metric `{metric}` does not apply to {task.output_type} "
                f"(available: {', '.join(METRICS[task.output_type])})"
            )
    return task


def _resolve(files, base_dir: Path):
    if isinstance(files, dict):
        return {k: _resolve(v, base_dir) for k, v in files.items()}
    if isinstance(files, list):
        return [_resolve(v, base_dir) for v in files]
    path = Path(files).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


EMBEDDED_PREFIX = "embedded:"


def _load_embedded(task: FewShotTask):
    """``dataset_path: embedded:NAME``: the GLUE-format sets built from Debian packages (DATA.md), splits train/validation."""
    from hf_replearn.data.embedded_text import EMBEDDED_TASKS, load_embedded

    name = task.dataset_path[len(EMBEDDED_PREFIX):]
    if name not in EMBEDDED_TASKS:
        raise UserError(f"{task.source}: dataset_path: no embedded set `{name}`; choose one of "
                        f"{', '.join(EMBEDDED_PREFIX + n for n in EMBEDDED_TASKS)}")  # fmt: skip
    return load_embedded(name)


def load_docs(task: FewShotTask) -> tuple[list[dict], list[dict]]:
    """(test documents, few-shot documents) as lists of dicts; columns are checked against the templates."""
    import datasets

    path = Path(task.dataset_path).expanduser()
    try:
        if task.dataset_path.startswith(EMBEDDED_PREFIX):
            ds = _load_embedded(task)
        elif path.is_dir() and (path / "dataset_dict.json").is_file():
            ds = datasets.load_from_disk(str(path))
        else:
            ds = datasets.load_dataset(task.dataset_path, task.dataset_name, **task.dataset_kwargs)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"{task.source}: could not load dataset {task.dataset_path!r}: {err}") from None
    for split in (task.eval_split, task.shot_split):
        if split not in ds:
            raise UserError(f"{task.source}: split `{split}` is not in the dataset (splits: {sorted(ds)})")
    task.check_columns(ds[task.eval_split].column_names)
    if task.shuffle_seed is not None:
        ds = {split: ds[split].shuffle(seed=task.shuffle_seed) for split in {task.eval_split, task.shot_split}}
    test = ds[task.eval_split].to_list()
    if task.limit is not None:
        test = test[: task.limit]
    return test, ds[task.shot_split].to_list()


# ------------------------------------------------------------------------------------------ export


def export_lm_eval(task: FewShotTask, path: str | Path) -> Path:
    """Write ``task`` as an lm-eval task YAML (data paths made absolute, keys lm-eval lacks dropped)."""
    out = {}
    for f in dataclasses.fields(task):
        value = getattr(task, f.name)
        if f.metadata.get("internal") or f.name in ("limit", "shuffle_seed") or value in (None, "", {}, []):
            continue
        out[f.name] = value
    out.setdefault("target_delimiter", task.target_delimiter)
    out.setdefault("fewshot_delimiter", task.fewshot_delimiter)
    if task.shot_split and "fewshot_split" not in out:
        out["fewshot_split"] = task.shot_split
    out["metric_list"] = [
        {"metric": m, "aggregation": "mean", "higher_is_better": True} for m in task.metrics
    ]
    if task.output_type == "generate_until":
        out["generation_kwargs"] = {"until": task.until, "max_gen_toks": task.max_gen_toks, "do_sample": False}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if task.dataset_path.startswith(EMBEDDED_PREFIX):  # lm-eval cannot build it: write its splits as JSON lines
        data_dir = path.parent / f"{path.stem}_data"
        data_dir.mkdir(exist_ok=True)
        files = {}
        for split, ds in _load_embedded(task).items():
            ds.to_json(data_dir / f"{split}.jsonl", lines=True, force_ascii=False)
            files[split] = str((data_dir / f"{split}.jsonl").resolve())
        out["dataset_path"], out["dataset_kwargs"] = "json", {"data_files": files}
    path.write_text(yaml.safe_dump(out, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
