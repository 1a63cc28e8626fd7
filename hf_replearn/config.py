"""Recipe YAML -> typed dataclasses, with ``key=value`` overrides.

A recipe is a YAML mapping. Its ``task`` key picks the task (see :mod:`hf_replearn.tasks`), whose recipe
dataclass lists every accepted key with its type and default; the ``training`` section holds
``transformers.TrainingArguments`` fields and is checked against them. Unknown keys are an error that
names the key and the closest valid one; a value of the wrong type names the key and the expected type.

Overrides use dotted keys (``model.width=64``). A bare key that is a ``TrainingArguments`` field
(``output_dir=``, ``max_steps=``, ``learning_rate=``) goes to ``training``.
"""

from __future__ import annotations

import copy
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
    training: dict = dataclasses.field(default_factory=dict)
    """``transformers.TrainingArguments`` fields (``output_dir``, ``max_steps``, ``learning_rate``, ...)."""
    hub: HubConfig = dataclasses.field(default_factory=HubConfig)

    # Where the recipe came from, for error messages and the model card (not a YAML key).
    source: str = dataclasses.field(default="<dict>", metadata={"internal": True})
    command: str = dataclasses.field(default="", metadata={"internal": True})

    @property
    def output_dir(self) -> Path:
        return Path(self.training.get("output_dir") or f"outputs/{self.task}")

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


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe file, apply ``key=value`` overrides and build the task's recipe dataclass."""
    raw = read_yaml_mapping(path, "recipe file", "recipes/*.yaml")
    return build_recipe(raw, overrides, source=str(path))


def build_recipe(raw: dict, overrides=(), source: str = "<dict>") -> Recipe:
    from hf_replearn.tasks import get_task

    raw = copy.deepcopy(raw)
    for item in overrides:
        apply_override(raw, item, source)
    if "task" not in raw:
        raise UserError(f"{source}: the recipe has no `task` key; add e.g. `task: simclr`")
    spec = get_task(raw["task"], source)
    recipe = from_dict(spec.recipe_cls, raw, source)
    recipe.source = source
    return recipe


def apply_override(raw: dict, item: str, source: str = "<dict>") -> None:
    """Apply one ``dotted.key=value`` override in place; the value is parsed as YAML (``3`` is an int)."""
    if "=" not in item:
        raise UserError(f"override {item!r} is not of the form key=value (e.g. max_steps=10)")
    key, _, text = item.partition("=")
    key = key.strip()
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    parts = key.split(".")
    if len(parts) == 1 and key not in _top_level_keys(raw, source) and key in _training_fields():
        parts = ["training", key]
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"override {item!r}: `{'.'.join(parts[: i + 1])}` is a value, not a section")
        node = child
    node[parts[-1]] = value


def _top_level_keys(raw: dict, source: str) -> set[str]:
    from hf_replearn.tasks import get_task

    keys = {f.name for f in dataclasses.fields(Recipe)}
    if "task" in raw:
        try:
            keys |= {f.name for f in dataclasses.fields(get_task(raw["task"], source).recipe_cls)}
        except UserError:
            pass
    return keys


def from_dict(cls, raw: dict, where: str, prefix: str = ""):
    """Build dataclass ``cls`` from ``raw``, rejecting unknown keys and values of the wrong type."""
    if not isinstance(raw, dict):
        raise UserError(f"{where}: `{prefix.rstrip('.') or 'recipe'}` must be a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
    hints = typing.get_type_hints(cls)
    for key in raw:
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
    return f"{where}: unknown key `{dotted}`{hint} (valid here: {listing})"


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
        raise UserError(f"{where}: `{key}` must be {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            choices = ", ".join(repr(a) for a in typing.get_args(tp))
            raise UserError(f"{where}: `{key}` must be one of {choices}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value if value is not None else {}, where, key + ".")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: `{key}` must be a list, got {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (typing.Any,)
        return [_convert(v, item_tp, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: `{key}` must be a mapping, got {value!r}")
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
            raise UserError(f"{where}: `{key}` must be {_type_name(tp)}, got {value!r}")
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
