"""Recipe YAML -> typed dataclasses, with ``key=value`` overrides.

A recipe is a YAML mapping. Its ``task`` key picks the task; :func:`hf_replearn.tasks.load_recipe` finds
the task's recipe dataclass and parses the mapping into it with :func:`from_dict`. The dataclass lists
every accepted key with its type and default; the ``training`` section holds
``transformers.TrainingArguments`` fields and is checked against them. Unknown keys are an error that
names the key and the closest valid one; a value of the wrong type names the key and the expected type.

Overrides use dotted keys (``model.width=64``). A bare key that is a ``TrainingArguments`` field
(``output_dir=``, ``max_steps=``, ``learning_rate=``) goes to ``training``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml

from hf_replearn.errors import UserError


@dataclasses.dataclass
class HubConfig:
    """Where the finished run goes on a model hub (see ``hf-replearn hub``)."""

    push_to_hub: bool = False
    """Push the final checkpoint and model card after training."""
    hub_model_id: str | None = None
    """Repository id, ``user/name``; required when ``push_to_hub`` is true."""
    private: bool = False


MINUTE_CLOCKS = ("wall", "cpu")
"""The clocks a recipe's ``save_at_minutes`` can count on."""


RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
"""The recipes that ship (a source checkout's ``recipes/``)."""


@dataclasses.dataclass
class Recipe:
    """Keys every recipe accepts. Tasks subclass this and add their own sections."""

    task: str
    """Name of the task in the registry, e.g. ``simclr``."""
    seed: int = 0
    """Seeds Python, NumPy and torch (through ``transformers.set_seed``) and every sampled subset."""
    dataset_limit: int | None = None
    """Train on the first N examples only (``None``: all). Evaluations that would otherwise read a whole test
    split (image probes, few-shot tasks) then read at most N test examples too, so that a smoke run
    (``max_steps=3 dataset_limit=64``) is quick."""
    overwrite_output_dir: bool = False
    """Allow writing into an output directory that already holds another run."""
    save_at_minutes: list[float] = dataclasses.field(default_factory=list)
    """Also save a checkpoint when training has run this many minutes (e.g. ``[5, 10, 20, 30]``), for a curve of
    the representation against training time; ``trainer_state.json`` says which step each mark fell on."""
    minutes_clock: str = "wall"
    """The clock of ``save_at_minutes`` (one of :data:`MINUTE_CLOCKS`): ``wall`` (training time) or ``cpu`` (the process's CPU time: with one
    thread, the minutes of one core, whatever else the machine runs)."""
    training: dict = dataclasses.field(default_factory=dict)
    """``transformers.TrainingArguments`` fields (``output_dir``, ``max_steps``, ``learning_rate``, ...)."""
    hub: HubConfig = dataclasses.field(default_factory=HubConfig)

    # Where the recipe came from, for error messages and the model card (not a YAML key).
    source: str = dataclasses.field(default="<dict>", metadata={"internal": True})
    command: str = dataclasses.field(default="", metadata={"internal": True})

    @property
    def output_dir(self) -> Path:
        return Path(self.training.get("output_dir") or f"outputs/{self.task}")

    def resolve_path(self, value: str | Path) -> Path:
        """A file the recipe names: relative to the working directory when it is there, else to the recipe
        file's folder, else to the shipped recipes (``fewshot/incontext_binary.yaml``), so that a recipe runs
        from any directory; the value as given when none holds it (the caller's check then names it)."""
        path = Path(value).expanduser()
        if path.exists() or path.is_absolute():
            return path
        folders = ([Path(self.source).parent] if self.source != "<dict>" else []) + [RECIPES_DIR]
        return next((folder / path for folder in folders if (folder / path).exists()), path)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for f in dataclasses.fields(self):
            if f.metadata.get("internal"):
                out.pop(f.name)
        return out


def _training_fields() -> dict[str, dataclasses.Field]:
    from transformers import TrainingArguments

    return {f.name: f for f in dataclasses.fields(TrainingArguments) if f.init}


# ---------------------------------------------------------------------------------------------- parsing


def read_yaml_mapping(path: str | Path, kind: str, shipped: str, holds: str = "keys to values") -> dict:
    """Read a YAML file that must hold a mapping; every failure is a UserError naming the file and the fix.

    ``kind`` names the file in messages ("recipe file"), ``shipped`` where the ones that ship live.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{kind} {path} does not exist; the ones that ship are in {shipped}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a YAML mapping of {holds}, not {type(raw).__name__}")
    return raw


class Where(str):
    """The recipe's source (a ``str``, as messages print it) plus where each dotted key came from: a line of
    the recipe file or an override on the command line (``origins``, filled by ``build_recipe``)."""

    origins: dict[str, str]

    def __new__(cls, source: str, origins: dict[str, str] | None = None):
        where = super().__new__(cls, source)
        where.origins = dict(origins or {})
        return where


def key_origin(where, key: str) -> str:
    """Where ``key`` (dotted, maybe with ``[i]``) was given: its own origin or its nearest section's."""
    origins = getattr(where, "origins", None)
    if not origins:
        return str(where)
    parts = key.split("[", 1)[0].split(".")
    for end in range(len(parts), 0, -1):
        origin = origins.get(".".join(parts[:end]))
        if origin:
            return origin
    return str(where)


def yaml_key_lines(text: str, source: str) -> dict[str, str]:
    """``{dotted key: "FILE, line N"}`` for every mapping key of YAML ``text`` (nested mappings too)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    found: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                dotted = prefix + str(key_node.value)
                found[dotted] = f"{source}, line {key_node.start_mark.line + 1}"
                walk(value_node, dotted + ".")

    walk(root, "")
    return found


def apply_override(raw: dict, item: str, source: str = "<dict>", recipe_cls: type = Recipe) -> None:
    """Apply one ``dotted.key=value`` override in place; the value is parsed as YAML (``3`` is an int).

    A bare key that is not a top-level key of ``recipe_cls`` but is a ``TrainingArguments`` field goes to
    ``training``.
    """
    if "=" not in item:
        raise UserError(f"override {item!r} is not of the form key=value (e.g. max_steps=10)")
    key, _, text = item.partition("=")
    key = key.strip()
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    parts = key.split(".")
    top_level = {f.name for f in dataclasses.fields(recipe_cls) if not f.metadata.get("internal")}
    if len(parts) == 1 and key not in top_level and key in _training_fields():
        parts = ["training", key]
    elif len(parts) == 1 and key not in top_level and recipe_cls is not Recipe:  # Recipe: task not known yet
        close = difflib.get_close_matches(key, [*top_level, *_training_fields()], n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}={text}`?" if close else ""
        raise UserError(f"command-line override `{item}`: unknown key `{key}`{hint} (a bare key is a top-level "
                        f"recipe key ({', '.join(sorted(top_level))}) or a transformers.TrainingArguments field; "
                        "nested keys are dotted, e.g. model.width=64)")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"override {item!r}: `{'.'.join(parts[: i + 1])}` is a value, not a section")
        node = child
    node[parts[-1]] = value


def from_dict(cls, raw: dict, where: str, prefix: str = ""):
    """Build dataclass ``cls`` from ``raw``, rejecting unknown keys and values of the wrong type."""
    if not isinstance(raw, dict):
        raise UserError(f"{where}: `{prefix.rstrip('.') or 'recipe'}` must be a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
    hints = typing.get_type_hints(cls)
    renamed = getattr(cls, "renamed_keys", {})  # sections derived from a config (recipe_sections.py)
    for key in raw:
        if key in renamed and key not in fields:
            raise UserError(f"{where}: `{prefix}{key}` was renamed `{prefix}{renamed[key]}` (the name its model config "
                            f"and config.json use); write `{prefix}{renamed[key]}` instead")  # fmt: skip
        if key == "lora" and not prefix and key not in fields:
            raise UserError(f"{key_origin(where, key)}: `lora`: this task trains its model from scratch, so LoRA has no trained model "
                            "to adapt; drop the lora keys (LoRA is a section of the recipes that start from one: glue, "
                            "squad, mlm / clm with model.path, the image tasks with model.init_from)")
        if key not in fields:
            raise UserError(_unknown_key(where, prefix + str(key), key, fields))
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _convert(value, hints[name], where, prefix + name)
    try:
        return cls(**kwargs)
    except TypeError as err:  # a required key is missing
        raise UserError(f"{where}: {prefix.rstrip('.') or 'recipe'}: {err}") from None


def _unknown_key(where, dotted, key, valid) -> str:
    close = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=0.5)
    hint = f"; did you mean `{dotted.rsplit('.', 1)[0] + '.' if '.' in dotted else ''}{close[0]}`?" if close else ""
    listing = ", ".join(sorted(valid)) if len(valid) <= 20 else "any transformers.TrainingArguments field"
    return f"{key_origin(where, dotted)}: unknown key `{dotted}`{hint} (valid here: {listing})"


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value, tp, where: str, key: str):
    """Check ``value`` against annotation ``tp``; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:  # Optional[X]: X's own error (e.g. a section's) is the useful one
            return _convert(value, non_none[0], where, key)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where, key)
            except UserError as err:
                errors.append(err)
        raise UserError(f"{key_origin(where, key)}: `{key}` must be {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            choices = ", ".join(repr(a) for a in typing.get_args(tp))
            raise UserError(f"{key_origin(where, key)}: `{key}` must be one of {choices}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value if value is not None else {}, where, key + ".")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            example = f"[{value}]" if isinstance(value, (int, float, str)) else "[...]"
            raise UserError(f"{key_origin(where, key)}: `{key}` must be a list, got {value!r}; write it in brackets, "
                            f"e.g. {key}={example}")
        (item_tp, *_) = typing.get_args(tp) or (typing.Any,)
        return [_convert(v, item_tp, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise UserError(f"{key_origin(where, key)}: `{key}` must be a mapping, got {value!r}")
        if key == "training":
            return _check_training(value, where)
        return dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML reads 1e-3 as a string
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(tp, type):
        if tp is int and isinstance(value, bool) or not isinstance(value, tp):
            raise UserError(f"{key_origin(where, key)}: `{key}` must be {_type_name(tp)}, got {value!r}")
    return value


def _check_training(values: dict, where: str) -> dict:
    fields = _training_fields()
    hints = _training_hints()
    out = {}
    for name, value in values.items():
        if name not in fields:
            raise UserError(_unknown_key(where, f"training.{name}", name, fields))
        tp = hints.get(name, typing.Any)
        if name == "resume_from_checkpoint":  # Trainer.train takes true (latest checkpoint) or a path
            tp = bool | str | None
        if name == "bf16" and value == "auto":  # bf16 where the hardware has it (training/args.py)
            out[name] = value
            continue
        if value is False and name.endswith("_strategy"):
            value = "no"  # YAML reads a bare `no` as false: save_strategy=no means the strategy "no"
        # TrainingArguments accepts strings for its enums (eval_strategy: "steps") and report_to lists.
        if value is None or isinstance(value, str) and not _is_plain(tp, (int, float, bool)):
            out[name] = value
            continue
        out[name] = _convert(value, tp, where, f"training.{name}") if _is_plain(tp, (int, float, bool, str)) else value
    return out


def _is_plain(tp, kinds) -> bool:
    args = typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else (tp,)
    return all(a in kinds or a is type(None) for a in args)


def _training_hints() -> dict[str, Any]:
    from transformers import TrainingArguments

    try:
        return typing.get_type_hints(TrainingArguments)
    except Exception:  # a forward reference transformers cannot resolve; fall back to no checks
        return {}
