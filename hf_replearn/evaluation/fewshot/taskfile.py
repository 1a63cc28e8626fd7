"""Reading lm-evaluation-harness 0.4 task files: ``include`` merging and ``!function`` references.

``include: base.yaml`` (a path relative to the including file, or a list of them) is merged as lm-eval
merges: the included files in order, each resolved recursively, then the including file's own keys on top;
an included file's ``task_list`` is not inherited.

``!function utils.process_docs`` names a function in ``utils.py`` beside the YAML that holds the tag. The
reference is checked to exist when the file is read and imported only when first called, so reading a
task file runs no code; evaluating a task that uses one runs that module (user code).

Files are read through a small file-system object (:class:`LocalFiles`, or :class:`ZipFiles` to read task
files straight from a wheel or zip archive), with an optional cache of parsed files shared across reads.
"""

from __future__ import annotations

import importlib.util
import posixpath
import sys
import zipfile
from pathlib import Path

import yaml

from hf_replearn.errors import UserError, explained


class LocalFiles:
    def read(self, path: str) -> str:
        return Path(path).read_text(encoding="utf-8")

    def is_file(self, path: str) -> bool:
        return Path(path).is_file()

    def normalize(self, path: str) -> str:
        return str(Path(path).expanduser().resolve())


class ZipFiles:
    """Task files inside a zip archive (a wheel); paths are the archive's member names."""

    def __init__(self, archive: str | Path):
        self.zip = zipfile.ZipFile(archive)
        self.names = set(self.zip.namelist())

    def read(self, path: str) -> str:
        return self.zip.read(path).decode("utf-8")

    def is_file(self, path: str) -> bool:
        return path in self.names

    def normalize(self, path: str) -> str:
        return posixpath.normpath(path)


LOCAL = LocalFiles()


_PIP_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
"""pip names of modules a task's Python file may import, where they differ from the module's name."""


def run_task_code(fn, *args, failed: str, fix: str = "", **kwargs):
    """``fn(*args, **kwargs)``, a task author's code: any failure but a UserError becomes a UserError reading
    ``failed``, the exception, and ``fix`` when given, not a traceback."""
    return explained(lambda: fn(*args, **kwargs),
                     lambda err: f"{failed}: {type(err).__name__}: {err}" + (f"; {fix}" if fix else ""))


class FunctionRef:
    """A ``!function module.name`` reference; the module (a file beside the YAML) is imported on first call."""

    def __init__(self, spec: str, folder: str, files, source: str):
        self.spec, self.folder, self.files, self.source = spec, folder, files, source
        module, _, self.name = spec.rpartition(".")
        if not module:
            raise UserError(f"{source}: `!function {spec}` names no module; write `!function utils.{spec}`")
        self.module = module
        self.module_file = posixpath.join(folder, module.replace(".", "/") + ".py")
        self._fn = None

    @property
    def beside_yaml(self) -> bool:
        return self.files.is_file(self.module_file)

    def check(self) -> None:
        """A UserError when the module is neither beside the YAML nor importable."""
        if not self.beside_yaml and importlib.util.find_spec(self.module.split(".")[0]) is None:
            raise UserError(f"{self.source}: `!function {self.spec}`: no module file {self.module_file} "
                            f"and no importable module `{self.module}`; put {self.module.replace('.', '/')}.py "
                            "beside the task file")  # fmt: skip

    def resolve(self):
        if self._fn is None:
            if not isinstance(self.files, LocalFiles):
                raise UserError(f"{self.source}: `!function {self.spec}` can only run from a task file on disk")
            name = "hf_replearn_taskfn_" + str(abs(hash(self.module_file)))
            if self.beside_yaml and name in sys.modules:
                # imported once per run: a module that registers a filter with lm-eval (acpbench's acp_utils) would
                # fail to register it a second time, and every reference to one file shares its module's state
                module = sys.modules[name]
            elif self.beside_yaml:
                spec = importlib.util.spec_from_file_location(name, self.module_file)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                try:
                    spec.loader.exec_module(module)  # runs the task author's code
                except ModuleNotFoundError as err:
                    del sys.modules[name]
                    raise UserError(f"{self.source}: `!function {self.spec}`: {self.module_file} imports `{err.name}`, "
                                    f"which is not installed; install it (pip install {_PIP_NAMES.get(err.name, err.name)})"
                                    " to run this task file") from None
                except Exception as err:
                    del sys.modules[name]
                    raise UserError(f"{self.source}: `!function {self.spec}`: importing {self.module_file} failed: "
                                    f"{type(err).__name__}: {err}") from None
            else:
                self.check()
                module = importlib.import_module(self.module)
            if not hasattr(module, self.name):
                raise UserError(f"{self.source}: `!function {self.spec}`: {self.module_file} has no `{self.name}`")
            self._fn = getattr(module, self.name)
        return self._fn

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"!function {self.spec}"


_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):
    folder = "."
    files = LOCAL
    source = "<yaml>"


def _function(loader: _Loader, node) -> FunctionRef:
    return FunctionRef(loader.construct_scalar(node), loader.folder, loader.files, loader.source)


_Loader.add_constructor("!function", _function)


def read_task_file(path: str | Path, files=LOCAL, cache: dict | None = None, _seen: tuple = ()) -> dict:
    """The task file's keys with its ``include`` chain merged in (a new dict each call)."""
    key = files.normalize(str(path))
    if cache is not None and key in cache:
        return dict(cache[key])
    if key in _seen:
        raise UserError(f"{key}: `include` cycle: {' -> '.join(_seen + (key,))}")
    if not files.is_file(key):
        if _seen:
            raise UserError(f"{_seen[-1]}: `include: {path}`: {key} does not exist; include a file that does")
        raise UserError(f"task file {key} does not exist; give an lm-eval task YAML (the ones that ship are in "
                        "recipes/fewshot/*.yaml)")
    loader = _Loader(files.read(key))
    loader.folder, loader.files, loader.source = posixpath.dirname(key), files, key
    try:
        raw = loader.get_single_data()
    except yaml.YAMLError as err:
        raise UserError(f"{key}: not valid YAML: {err}") from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise UserError(f"{key}: a task file holds a mapping of lm-eval task keys, got {type(raw).__name__}")
    raw = merge_includes(raw, key, files, cache, _seen)
    if cache is not None:
        cache[key] = raw
    return dict(raw)


def merge_includes(raw: dict, key: str, files=LOCAL, cache: dict | None = None, _seen: tuple = ()) -> dict:
    """``raw`` (the mapping of the file ``key``, or a task written inline in the group file ``key``) with its
    ``include`` files, relative to ``key``'s folder, merged under it as lm-eval merges them."""
    raw = dict(raw)
    includes = raw.pop("include", None)
    if includes is None:
        return raw
    merged = {}
    for inc in includes if isinstance(includes, list) else [includes]:
        inc_path = inc if posixpath.isabs(str(inc)) else posixpath.join(posixpath.dirname(key), str(inc))
        if not files.is_file(files.normalize(inc_path)):
            raise UserError(f"{key}: include {inc!r}: no file {inc_path}")
        included = read_task_file(inc_path, files, cache, _seen + (key,))
        included.pop("task_list", None)
        merged.update(included)
    merged.update(raw)  # the including file's keys win
    return merged
