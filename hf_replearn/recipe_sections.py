"""Recipe sections derived from a transformers config class, so that a model's field is written once.

    @config_section(SimCLRConfig, exclude=DATA_FIELDS, renamed={"temperature": "contrastive_temperature"})
    class SimCLRModelArgs(ImageModelArgs):  # ImageModelArgs: the recipe-only keys (init_from)
        '''SimCLR's `model` section.'''

makes ``SimCLRModelArgs`` a dataclass with, besides the fields it declares itself, one field per argument
of ``SimCLRConfig.__init__`` and of its parents' (up to ``PreTrainedConfig``): the argument's name, type
annotation and default, and in ``field.metadata["doc"]`` its entry in the ``Args:`` section of the
docstring of the class that introduces it (transformers' docstring style). ``config.from_dict`` checks a
recipe's values against these annotations and its unknown keys against these names like any other section,
and answers a key listed in ``renamed`` with its new name. As ``HfArgumentParser`` derives a command line
from a dataclass, this derives a recipe section from a config: a hand-written copy would drift from it.

The config class is all this module needs: it imports no model, task or training code.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import re
import typing

_ENTRY = re.compile(r"(\w+) \((.*?)\):\s*(.*)")  # name (`type`, defaults to x): doc


# Hand-written: transformers exposes no parser for its own `Args:` style, and a package for it (docstring_parser)
# would be a dependency for one loop over lines.
def documented_args(cls) -> dict[str, str]:
    """``{argument: doc}`` from the ``Args:`` section(s) of ``cls``'s own docstring.

    An entry is ``name (`type`, defaults to x): doc``, continued on more indented lines; the doc is the text
    after the colon, joined into one line.
    """
    docs: dict[str, str] = {}
    lines = inspect.cleandoc(cls.__dict__.get("__doc__") or "").splitlines()
    i = 0
    while i < len(lines):
        if not re.match(r"Args\b.*:$", lines[i].strip()) or lines[i].startswith(" "):
            i += 1
            continue
        i += 1
        indent, name = None, None
        while i < len(lines) and (not lines[i].strip() or indent is None or _indent(lines[i]) >= indent):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            if indent is None:
                indent = _indent(line)
            if _indent(line) == indent and (entry := _ENTRY.match(line.strip())):
                name = entry.group(1)
                docs[name] = entry.group(3)
            elif name is not None:
                docs[name] += " " + line.strip()
    return docs


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def config_arguments(config_class) -> dict[str, tuple[typing.Any, typing.Any, str]]:
    """``{name: (annotation, default, doc)}`` for the ``__init__`` arguments of ``config_class`` and its parents.

    The parents' arguments come first (the encoder's before a family's); a subclass that repeats one
    (``BetaVAEConfig(latent_dim=10)``) sets its default and annotation. ``PreTrainedConfig``'s own
    arguments (``id2label``, ``dtype``, ...) are not a recipe's business and are left out. An argument
    without a default, a type annotation or a doc is a TypeError: the config must say each once.
    """
    from transformers import PreTrainedConfig

    owners = [c for c in config_class.__mro__ if not issubclass(PreTrainedConfig, c) and "__init__" in c.__dict__]
    arguments: dict[str, list] = {}
    docs: dict[str, str] = {}
    for owner in reversed(owners):  # from the base down, so that a subclass's default wins
        hints = typing.get_type_hints(owner.__init__)
        docs.update(documented_args(owner))
        for name, param in inspect.signature(owner.__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            if param.default is param.empty or name not in hints:
                raise TypeError(f"{owner.__name__}.__init__: argument {name!r} needs a type annotation and a default")
            arguments[name] = [hints[name], param.default]
    undocumented = [name for name in arguments if name not in docs]
    if undocumented:
        raise TypeError(
            f"{config_class.__name__}: {', '.join(undocumented)} not documented in the `Args:` section of the "
            "docstring of the config class that takes it; a recipe section shows that doc"
        )
    return {name: (tp, default, docs[name]) for name, (tp, default) in arguments.items()}


def config_section(config_class, exclude: typing.Iterable[str] = (), renamed: dict[str, str] | None = None):
    """Class decorator: make the class a dataclass holding ``config_class``'s arguments as fields (see above).

    ``exclude``: arguments a recipe does not set (what the task reads off its data, for one). ``renamed``:
    ``{old key: config argument}`` for keys that recipes used to spell differently; ``from_dict`` rejects an
    old key naming the new one. The class keeps the fields it declares itself (recipe-only keys) and gains
    ``config_class`` and ``renamed_keys``.
    """
    exclude = set(exclude)
    arguments = config_arguments(config_class)
    unknown = (exclude | set((renamed or {}).values())) - set(arguments)
    if unknown:
        raise TypeError(f"config_section({config_class.__name__}): no such argument {', '.join(sorted(unknown))}")

    def wrap(cls):
        annotations = dict(cls.__dict__.get("__annotations__", {}))
        for name, (tp, default, doc) in arguments.items():
            if name in exclude:
                continue
            if name in annotations:
                raise TypeError(f"{cls.__name__}.{name} repeats an argument of {config_class.__name__}: say it there")
            annotations[name] = tp
            setattr(cls, name, _field(default, doc))
        cls.__annotations__ = annotations
        cls.config_class = config_class
        cls.renamed_keys = dict(renamed or {})
        return dataclasses.dataclass(cls)

    return wrap


def _field(default, doc: str) -> dataclasses.Field:
    metadata = {"doc": doc, "config": True}
    if isinstance(default, (list, dict, set)):  # a fresh copy for each section, as dataclasses require
        return dataclasses.field(default_factory=functools.partial(copy.deepcopy, default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def config_values(section) -> dict:
    """The values of ``section``'s fields that are arguments of its config class (not its recipe-only keys)."""
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.metadata.get("config")}
