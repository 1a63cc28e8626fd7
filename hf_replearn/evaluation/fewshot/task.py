"""Few-shot task files in the style of lm-evaluation-harness 0.4, and their export to lm-eval.

A task YAML uses lm-eval's own keys, so a file written for lm-eval runs as it is::

    task: incontext_binary
    dataset_path: json                     # a `datasets.load_dataset` builder, a local dataset folder, or
                                           # embedded:NAME, a GLUE-format set of hf_replearn.data.embedded_text
    dataset_kwargs: {data_files: {train: data/train.jsonl, test: data/test.jsonl}}
    test_split: test
    fewshot_split: train                   # demonstrations are drawn from here
    fewshot_config: {sampler: first_n}     # default (lm-eval's seeded draw), first_n, or per_document
    output_type: multiple_choice           # or generate_until (lm-eval's default), or loglikelihood
    doc_to_text: "{{input}} ->"            # Jinja template, a bare column name, or !function utils.fn
    doc_to_target: label                   # column, template, or int; for multiple_choice an index or a choice
    doc_to_choice: ["A", "B"]              # list (items may be templates), a column, or a template of a list
    target_delimiter: " "                  # between a text and its target/choice
    fewshot_delimiter: "\\n\\n"            # between demonstrations
    metric_list: [{metric: acc}, {metric: acc_norm}]
    generation_kwargs: {until: ["\\n"], max_gen_toks: 32}   # generate_until only

``include`` and ``!function`` are read by :mod:`.taskfile`; which keys are implemented is in :mod:`.keys`.
Relative ``data_files`` are resolved as lm-eval resolves them, against the working directory, and when no
such file is there, against the YAML's folder. Templates are rendered by Jinja2 with ``StrictUndefined``
(and lm-eval's ``regex_replace`` filter): a template naming a column the dataset lacks is a
:class:`UserError` when the task loads, not a silent empty string.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import glob
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


from hf_replearn.data.paths import load_dataset_or_explain
from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot import keys as K
from hf_replearn.evaluation.fewshot.filters import registered_filter
from hf_replearn.evaluation.fewshot.taskfile import LOCAL, FunctionRef, read_task_file, run_task_code

OUTPUT_TYPES = K.OUTPUT_TYPES
METRICS = K.METRICS



@dataclasses.dataclass
class FewShotTask:
    """One few-shot task; field names and defaults are lm-eval's (``limit`` and ``shuffle_seed`` are not)."""

    task: str
    doc_to_text: Any
    doc_to_target: Any
    dataset_path: str | None = None
    """A Hub dataset, a loader (``json``, ``csv``) with ``dataset_kwargs.data_files``, a ``save_to_disk`` folder or
    ``embedded:NAME``; not needed with ``custom_dataset``."""
    custom_dataset: Any = None
    """A task function that builds the splits (``{split: dataset or list of documents}``), called as lm-eval calls it:
    ``custom_dataset(**metadata, **dataset_kwargs)`` (user code)."""
    output_type: str = "generate_until"
    task_alias: str | None = None
    tag: Any = None
    group: Any = None
    dataset_name: str | None = None
    dataset_kwargs: dict = dataclasses.field(default_factory=dict)
    training_split: str | None = None
    validation_split: str | None = None
    test_split: str | None = None
    fewshot_split: str | None = None
    """Split the demonstrations come from; defaults to training, then validation, then the test split."""
    process_docs: Any = None
    doc_to_choice: Any = None
    description: str = ""
    """Text (a template) put before the first demonstration."""
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    fewshot_config: dict = dataclasses.field(default_factory=dict)
    metric_list: list = dataclasses.field(default_factory=list)
    generation_kwargs: dict = dataclasses.field(default_factory=dict)
    filter_list: list = dataclasses.field(default_factory=list)
    process_results: Any = None
    """A task's own scoring function ``(doc, results) -> {metric: value}`` (a !function; user code)."""
    gen_prefix: str | None = None
    num_fewshot: int | None = None
    repeats: int = 1
    metadata: dict = dataclasses.field(default_factory=dict)
    should_decontaminate: bool = False
    doc_to_decontamination_query: Any = None
    unsafe_code: bool = False
    limit: int | None = None
    """Evaluate the first N test documents only (not an lm-eval key; lm-eval takes ``--limit``)."""
    shuffle_seed: int | None = None
    """Shuffle each split with this seed before ``limit`` (not an lm-eval key): for files sorted by label.
    Both splits get the same permutation, so a split used for test and shots still excludes the document."""
    source: str = dataclasses.field(default="<dict>", metadata={"internal": True})
    expanded_from: dict = dataclasses.field(default_factory=dict, metadata={"internal": True})
    """Key -> metric, for the keys of a metric function's dict result (filled while scoring): each key takes its
    metric's aggregation and higher_is_better, as lm-eval 0.4.13 propagates them."""

    # ------------------------------------------------------------------------------------- properties
    @property
    def eval_split(self) -> str:
        split = self.test_split or self.validation_split
        if not split:
            raise UserError(f"{self.source}: the task names no `test_split` or `validation_split`; add one")
        return split

    @property
    def shot_split(self) -> str:
        return (self.fewshot_config.get("split") or self.fewshot_split or self.training_split
                or self.validation_split or self.eval_split)  # fmt: skip

    @property
    def sampler(self) -> str:
        return self.fewshot_config.get("sampler", "default")

    @property
    def excludes_eval_doc(self) -> bool:
        """lm-eval passes the test document to the sampler (to be left out) when these two keys agree."""
        return (self.fewshot_config.get("split") or self.fewshot_split) == self.test_split

    def shot(self, key: str):
        """A demonstration's formatting key: ``fewshot_config`` overrides the task's own."""
        value = self.fewshot_config.get(key)
        return getattr(self, key) if value is None else value

    @property
    def metric_entries(self) -> list[dict]:
        """The metric_list entries as dicts; a task's own metric function (``metric: !function utils.rouge1``) is
        named by its function's name, as lm-eval names it, and kept under ``function``."""
        entries = [m if isinstance(m, dict) else {"metric": m} for m in self.metric_list]
        entries = [{**e, "metric": _function_name(e["metric"]), "function": e["metric"]} if callable(e["metric"]) else e
                   for e in entries]  # fmt: skip
        return entries or [{"metric": m} for m in K.DEFAULT_METRICS[self.output_type]]

    def aggregation(self, metric: str):
        metric = self.expanded_from.get(metric, metric)
        for entry in self.metric_entries:
            if entry["metric"] == metric and "aggregation" in entry:
                return entry["aggregation"]
        if metric in ("f1", "mcc") and self.output_type != "multiple_choice":
            return "mean"  # generate_until's f1 is a per-answer score, averaged
        return K.DEFAULT_AGGREGATION.get(metric, "mean")

    @property
    def metrics(self) -> list[str]:
        return [m["metric"] for m in self.metric_entries]

    @property
    def until(self) -> list[str]:
        until = self.generation_kwargs.get("until", [self.fewshot_delimiter])
        return [until] if isinstance(until, str) else list(until)

    @property
    def max_gen_toks(self) -> int:
        """lm-eval's: the first of ``max_gen_toks``, ``max_new_tokens``, ``max_tokens``, ``max_completion_tokens``
        given, else 256."""
        given = (self.generation_kwargs.get(k) for k in K.MAX_TOKEN_KEYS)
        return int(next((v for v in given if v is not None), 256))

    @property
    def sampling(self) -> dict | None:
        """The sampling settings that ``generation_kwargs`` ask for, None for greedy decoding: lm-eval samples when
        ``do_sample`` is true, or unset with a temperature above 0.
        ``temperature`` / ``top_k`` / ``top_p`` left out fall back to the model's generation config, then to
        transformers' defaults (:data:`keys.SAMPLING_DEFAULTS`)."""
        kwargs = self.generation_kwargs
        temperature = float(kwargs.get("temperature", 0.0))
        do_sample = kwargs.get("do_sample")
        if not (do_sample or (do_sample is None and temperature > 0)):
            return None
        return {k: kwargs[k] for k in K.SAMPLING_DEFAULTS if k in kwargs}

    @property
    def num_beams(self) -> int:
        """Beams of a beam search (lm-eval's ``generation_kwargs.num_beams``); 1: greedy or sampled decoding."""
        return int(self.generation_kwargs.get("num_beams", 1))

    @property
    def generations(self) -> int:
        """Answers generated per document: ``repeats`` when they are sampled, else one (the greedy answer, which
        ``repeats`` copies)."""
        return self.repeats if self.sampling is not None else 1

    @property
    def filters(self) -> list[dict]:
        return self.filter_list or [{"name": "none", "filter": [{"function": "take_first"}]}]

    def resolve_functions(self) -> None:
        """Imports the module of every ``!function`` the task names (templates, filters, metrics, demonstrations),
        then finds every filter it names from lm-eval's registry (which those modules may add to), so that a missing
        module, function or filter stops a run before any work, not after the model has answered."""

        def walk(value):
            if isinstance(value, FunctionRef):
                value.resolve()
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    walk(v)

        for f in dataclasses.fields(self):
            walk(getattr(self, f.name))
        for pipeline in self.filters:
            for step in pipeline["filter"]:
                if isinstance(step["function"], str) and step["function"] not in K.FILTERS:
                    registered_filter(step["function"], pipeline["name"])

    # ------------------------------------------------------------------------------------- rendering
    def process(self, docs, fewshot: bool = False):
        """``docs`` through the task's ``process_docs`` (the few-shot one for demonstrations), as a list of dicts."""
        fn = self.shot("process_docs") if fewshot else self.process_docs
        if fn is not None:
            key = "fewshot_config.process_docs" if fewshot and fn is not self.process_docs else "process_docs"
            docs = run_task_code(fn, docs, failed=f"{self.source}: {key} ({fn!r}) failed on the dataset",
                                 fix="check that the data has the columns the function reads")  # fmt: skip
        return docs.to_list() if hasattr(docs, "to_list") else list(docs)

    def text(self, doc: dict, spec=None):
        spec = self.doc_to_text if spec is None else spec
        value = self._render("doc_to_text", spec, doc)
        if isinstance(value, str) and value.isdigit() and self.doc_to_choice is not None and not _is_column(spec, doc):
            return ast.literal_eval(value)  # lm-eval: a number here indexes the choices (multiple inputs)
        return value

    def prefix(self, doc: dict, spec) -> str | None:
        return None if spec is None else str(self._render("gen_prefix", spec, doc))

    def description_text(self, doc: dict) -> str:
        return str(self._render("description", self.description, doc) or "")

    def choices(self, doc: dict, spec=None) -> list[str]:
        spec = self.doc_to_choice if spec is None else spec
        if isinstance(spec, dict):
            return [str(c) for c in spec.values()]
        if isinstance(spec, list):
            choices = [str(self._render("doc_to_choice", c, doc)) for c in spec]
        elif isinstance(spec, str) or callable(spec):
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

    def raw_target(self, doc: dict, spec=None):
        """lm-eval's ``doc_to_target``: a column, an int, a list, or a template (digits become an int)."""
        spec = self.doc_to_target if spec is None else spec
        if isinstance(spec, (int, list)) or (isinstance(spec, str) and spec in doc) or callable(spec):
            return self._render("doc_to_target", spec, doc)
        value = str(self._render("doc_to_target", spec, doc))
        if value.isdigit() and self.doc_to_choice is not None:
            return int(value)
        if len(value) >= 2 and value[0] == "[" and value[-1] == "]":
            try:
                return ast.literal_eval(value)
            except (SyntaxError, ValueError):
                pass
        return value

    def target(self, doc: dict) -> int | str | list:
        """Index of the gold choice (multiple_choice; a list of them for several golds) or the reference string."""
        value = self.raw_target(doc)
        if self.output_type in ("loglikelihood", "loglikelihood_rolling"):  # the text scored, as written
            return str(value)
        if self.output_type == "generate_until":
            if self.doc_to_choice is not None and isinstance(value, int):
                return self.choices(doc)[value]
            return [str(v) for v in value] if isinstance(value, list) else str(value)
        choices = self.choices(doc)
        golds = value if isinstance(value, list) else [value]
        out = []
        for gold in golds:
            if isinstance(gold, str) and gold in choices:
                gold = choices.index(gold)
            elif isinstance(gold, str) and gold.strip().lstrip("-").isdigit():
                gold = int(gold)
            if not (isinstance(gold, int) and not isinstance(gold, bool) and 0 <= gold < len(choices)):
                raise UserError(
                    f"{self.source}: doc_to_target gave {value!r}, which is neither a choice nor an index into "
                    f"{choices} (document {doc!r}); fix doc_to_target or doc_to_choice"
                )
            out.append(gold)
        return out if isinstance(value, list) else out[0]

    def target_text(self, doc: dict) -> str:
        """The answer of a demonstration, as lm-eval writes it after ``target_delimiter``."""
        answer = self.raw_target(doc, self.shot("doc_to_target"))
        choices = self.choices(doc, self.shot("doc_to_choice")) if self.shot("doc_to_choice") is not None else None
        if choices and isinstance(answer, int):
            return choices[answer]
        if isinstance(answer, list):
            return str(answer[0])
        return str(answer)

    def _render(self, key: str, spec, doc: dict):
        if isinstance(spec, FunctionRef) or callable(spec):
            return spec(doc)
        if isinstance(spec, str) and spec in doc:  # a bare column name, as lm-eval allows
            return doc[spec]
        if not isinstance(spec, str) or "{" not in spec:
            return spec
        from jinja2 import TemplateError, UndefinedError

        try:
            return _template(spec).render(**doc)
        except UndefinedError as err:
            raise UserError(
                f"{self.source}: {key} template {spec!r} names a field the dataset lacks ({err.message}); "
                f"the columns are {sorted(doc)}"
            ) from None
        except TemplateError as err:
            raise UserError(f"{self.source}: {key} template {spec!r} does not render: {err}") from None

    def check_columns(self, columns: list[str]) -> None:
        """Fail early, naming the key, when a template names a column the dataset lacks."""
        from jinja2 import meta

        env = _environment()
        for key in ("doc_to_text", "doc_to_target", "doc_to_choice", "description"):
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


def _is_column(spec, doc) -> bool:
    return isinstance(spec, str) and spec in doc


_ENV = None


@functools.lru_cache(maxsize=256)
def _template(source: str):
    """A template compiled once: compiling costs far more than rendering, and a prompt renders a few per document."""
    return _environment().from_string(source)


def _environment():
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, StrictUndefined

        # keep_trailing_newline: "{{q}}\n" must render with its newline, as lm-eval's templates do
        _ENV = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
        _ENV.filters["regex_replace"] = lambda s, pattern, repl, count=0: re.sub(pattern, repl, s, count=count)
    return _ENV


# ------------------------------------------------------------------------------------------ loading


def _function_name(fn) -> str:
    return fn.name if isinstance(fn, FunctionRef) else getattr(fn, "__name__", repr(fn))


def load_task(path: str | Path, files=LOCAL, cache: dict | None = None, **overrides) -> FewShotTask:
    """Read a task YAML (``include`` merged, ``!function`` unresolved); ``overrides`` replace keys."""
    path = Path(path) if files is LOCAL else path
    raw = read_task_file(path, files, cache)
    if "group" in raw and isinstance(raw.get("task"), list):
        raise UserError(f"{path}: a group file (`group` with a `task` list); run it with --task as a group")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    base_dir = Path(os.path.dirname(files.normalize(str(path)))) if files is LOCAL else None
    return task_from_dict(raw, source=str(path), base_dir=base_dir)


def task_from_dict(raw: dict, source: str = "<dict>", base_dir: Path | None = None) -> FewShotTask:
    raw = {k: v for k, v in raw.items() if v is not None}
    K.check_keys(raw, source)
    if raw.get("output_type", "generate_until") == "generate_until":
        # lm-eval: `until` defaults to the few-shot delimiter
        kwargs = dict(raw.get("generation_kwargs") or {})
        kwargs.setdefault("until", [raw.get("fewshot_delimiter", "\n\n")])
        K.check_generation_kwargs(kwargs, source)
        raw["generation_kwargs"] = kwargs
    if base_dir is not None and "data_files" in (raw.get("dataset_kwargs") or {}):
        raw["dataset_kwargs"] = dict(raw["dataset_kwargs"])
        raw["dataset_kwargs"]["data_files"] = _resolve(raw["dataset_kwargs"]["data_files"], base_dir)
    for key in ("tag", "group"):
        if isinstance(raw.get(key), str):
            raw[key] = [raw[key]]
    task = FewShotTask(**raw, source=source)
    from hf_replearn.utils.inputs import check_number

    check_number(task.limit, "limit", source, minimum=1, fix="it counts test documents (leave it out for all)")
    check_number(task.num_fewshot, "num_fewshot", source, minimum=0)
    if isinstance(task.doc_to_choice, list) and not task.doc_to_choice:
        raise UserError(f"{source}: doc_to_choice is an empty list; give at least two choices")
    return task


def _resolve(files, base_dir: Path):
    """lm-eval's resolution first (the working directory), then the task file's folder."""
    if isinstance(files, dict):
        return {k: _resolve(v, base_dir) for k, v in files.items()}
    if isinstance(files, list):
        return [_resolve(v, base_dir) for v in files]
    if "://" in str(files):
        return files
    path = Path(files).expanduser()
    if path.is_absolute() or glob.glob(str(path)):
        return str(path.resolve()) if not glob.has_magic(str(path)) else str(path.absolute())
    return str(base_dir / path)

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

    path = Path(task.dataset_path or "").expanduser()
    try:
        if task.custom_dataset is not None:
            ds = run_task_code(task.custom_dataset, **task.metadata, **task.dataset_kwargs,
                               failed=f"{task.source}: custom_dataset ({task.custom_dataset!r}) failed",
                               fix="it is called with the task's metadata and dataset_kwargs as keyword arguments")  # fmt: skip
            if not isinstance(ds, Mapping):
                raise UserError(f"{task.source}: custom_dataset ({task.custom_dataset!r}) returned "
                                f"{type(ds).__name__}; it returns the splits, as {{split name: dataset}}")  # fmt: skip
        elif task.dataset_path.startswith(EMBEDDED_PREFIX):
            ds = _load_embedded(task)
        elif path.is_dir() and (path / "dataset_dict.json").is_file():
            ds = datasets.load_from_disk(str(path))
        else:
            # datasets >= 4 runs no loading scripts; lm-eval 0.4.13 drops the flag the same way
            kwargs = {k: v for k, v in task.dataset_kwargs.items() if k != "trust_remote_code"}
            ds = load_dataset_or_explain(
                task.dataset_path, task.dataset_name, **kwargs, what=f"{task.source}: could not load dataset "
                f"{task.dataset_path!r}", fix="check dataset_path and dataset_kwargs; a Hub dataset needs the Hub "
                "reachable (or HF_ENDPOINT set to a mirror), else point dataset_path at local files (json, csv, parquet)",
            )  # fmt: skip
    except UserError:  # already names the task file and the fix
        raise
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"{task.source}: could not load dataset {task.dataset_path!r}: {err}") from None
    needs_shot_split = task.fewshot_config.get("samples") is None or task.fewshot_config.get("split")
    for split in (task.eval_split, task.shot_split) if needs_shot_split else (task.eval_split,):
        if split not in ds:
            raise UserError(f"{task.source}: split `{split}` is not in the dataset (splits: {sorted(ds)})")
    if task.shuffle_seed is not None:
        ds = {split: ds[split].shuffle(seed=task.shuffle_seed) for split in {task.eval_split, task.shot_split} if split in ds}
    test = task.process(ds[task.eval_split])
    # The templates read the documents process_docs made (hellaswag's builds `query` and `choices`), not the raw rows.
    task.check_columns(list(test[0]) if test else ds[task.eval_split].column_names)
    if task.limit is not None:
        test = test[: task.limit]
    samples = task.fewshot_config.get("samples")
    if samples is not None and not task.fewshot_config.get("split"):
        # a list of documents, or (lm-eval's leaderboard math) a task function that returns one
        if callable(samples):
            samples = run_task_code(samples, failed=f"{task.source}: fewshot_config.samples ({samples!r}) failed")
        return test, list(samples)
    shots = task.process(ds[task.shot_split], fewshot=True)
    indices = task.fewshot_config.get("fewshot_indices")
    return test, [shots[i] for i in indices] if indices else shots
