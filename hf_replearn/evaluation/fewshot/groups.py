"""lm-eval group files: ``group:`` with a ``task:`` list and ``aggregate_metric_list``, as MMLU-style suites.

Each ``task:`` entry is a task or group name, resolved against the task files under the group file's folder
(recursively), a tag (``tag:`` of task files there: every task carrying it joins the group, as lm-eval 0.4's
MMLU groups list ``mmlu_stem_tasks``), or an inline mapping: a task config (its ``include`` relative to the
group file), a known task name with keys that override it, or a group with its own ``task:`` list (as lm-eval's
FLAN suites nest theirs).

A name instead of a file (lm-eval's ``--tasks hellaswag``) is looked up the same way under the ``--include-path``
folders, then in lm-eval's own task files when lm-eval is installed.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
from pathlib import Path

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.task import FewShotTask, load_task, task_from_dict
from hf_replearn.evaluation.fewshot.taskfile import merge_includes, read_task_file


@dataclasses.dataclass
class Group:
    name: str
    alias: str | None
    members: list  # FewShotTask or Group
    aggregate_metric_list: list[dict]
    listed: bool = False
    """A tag or a ``--task a,b`` list rather than a group file: lm-eval reports its tasks alone, with no row of its
    own."""

    def tasks(self) -> list[FewShotTask]:
        return [t for m in self.members for t in (m.tasks() if isinstance(m, Group) else [m])]


def is_group_file(path: str | Path) -> bool:
    raw = read_task_file(path)
    return "group" in raw and isinstance(raw.get("task"), list)


@dataclasses.dataclass
class _Index:
    """The task and group files under the folders searched, by name, and the task files carrying each tag."""

    named: dict[str, tuple[Path, dict]]
    tagged: dict[str, list[Path]]


def _index(folders: list[Path], cache: dict) -> _Index:
    """Every task and group file under ``folders`` (recursively); a name the first folders define keeps that file."""
    named, tagged = {}, {}
    for path in (p for folder in folders for p in sorted(folder.rglob("*.yaml"))):
        try:
            raw = read_task_file(path, cache=cache)
        except UserError:
            continue
        is_group = isinstance(raw.get("task"), list)
        name = raw.get("group") if is_group else raw.get("task")
        if isinstance(name, str):
            named.setdefault(name, (path, raw))
        tags = raw.get("tag") if not is_group else None
        for tag in [tags] if isinstance(tags, str) else tags if isinstance(tags, list) else []:
            if isinstance(tag, str):
                tagged.setdefault(tag, []).append(path)
    return _Index(named, tagged)


def load_group(path: str | Path, include_paths=(), **overrides) -> Group:
    """The group file ``path``; its members are found under its own folder, then under ``include_paths``
    (lm-eval's ``--include_path``: a suite that lists tasks kept in other folders, as catalan_bench lists
    belebele's)."""
    path = Path(path)
    cache: dict = {}
    folders = [path.parent, *(Path(p) for p in include_paths)]
    return _build(path, read_task_file(path, cache=cache), _index(folders, cache), cache, overrides, ())


def _build(path, raw, found: _Index, cache, overrides, seen) -> Group:
    index = found.named
    name = raw["group"]
    if name in seen:
        raise UserError(f"{path}: group `{name}` includes itself ({' -> '.join(seen + (name,))})")
    members = []
    for entry in raw["task"]:
        if isinstance(entry, dict) and "group" in entry and isinstance(entry.get("task"), list):  # an inline group
            members.append(_build(path, entry, found, cache, overrides, seen + (name,)))
            continue
        if isinstance(entry, dict) and isinstance(entry.get("task"), str) and entry["task"] not in index:
            inline = merge_includes(entry, str(path), cache=cache)
            members.append(task_from_dict({**inline, **overrides}, source=f"{path} (inline task {entry['task']})",
                                          base_dir=path.parent))  # fmt: skip
            continue
        key = entry.get("task") if isinstance(entry, dict) else entry
        extra = {k: v for k, v in entry.items() if k != "task"} if isinstance(entry, dict) else {}
        if key not in index and key in found.tagged:  # a tag: its tasks are members of this group themselves
            members.extend(load_task(p, cache=cache, **extra, **overrides) for p in found.tagged[key])
            continue
        if key not in index:
            raise UserError(f"{path}: group `{name}` lists `{key}`, but no task or group file under {path.parent} "
                            "(or an --include-path) defines it (as its task, group or tag); copy its YAML beside the "
                            "group file, or pass the folder that holds it with --include-path")  # fmt: skip
        sub_path, sub_raw = index[key]
        if isinstance(sub_raw.get("task"), list):
            members.append(_build(sub_path, sub_raw, found, cache, overrides, seen + (name,)))
        else:
            members.append(load_task(sub_path, cache=cache, **extra, **overrides))
    return Group(name, raw.get("group_alias"), members, list(raw.get("aggregate_metric_list") or []))


def lm_eval_task_folder() -> Path | None:
    """lm-eval's own task files (``lm_eval/tasks``) when lm-eval is installed as files, else None."""
    spec = importlib.util.find_spec("lm_eval")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "tasks").is_dir():
            return Path(location) / "tasks"
    return None


def load_by_name(name: str, include_paths=(), **overrides) -> Group | FewShotTask:
    """What lm-eval's ``--tasks NAME`` runs: the task or group that a file under ``include_paths`` or lm-eval's own
    task files defines, or the tasks carrying the tag ``name`` (a group without an aggregate); several names, comma
    separated, as a group of them without an aggregate. The folders are indexed once for all the names."""
    folders = [Path(p) for p in include_paths]
    lm_eval_tasks = lm_eval_task_folder()
    folders += [lm_eval_tasks] if lm_eval_tasks else []
    searched = f"in the task files under {', '.join(str(f) for f in folders)}" if folders else "(no --include-path given)"
    if not lm_eval_tasks:
        searched += "; lm-eval, whose own task files are searched too, is not installed (pip install lm_eval)"
    cache: dict = {}
    found = _index(folders, cache)

    def one(key: str) -> Group | FewShotTask:
        if key in found.named:
            path, raw = found.named[key]
            if isinstance(raw.get("task"), list):
                return _build(path, raw, found, cache, overrides, ())
            return load_task(path, cache=cache, **overrides)
        if key in found.tagged:
            return Group(key, None, [load_task(p, cache=cache, **overrides) for p in found.tagged[key]], [], listed=True)
        close = difflib.get_close_matches(key, [*found.named, *found.tagged], n=3)
        hint = f"; did you mean {', '.join(f'`{c}`' for c in close)}?" if close else "."
        raise UserError(f"--task {key}: no such file, and no task, group or tag of that name {searched}{hint} Give a task "
                        "YAML's path, or pass the folder that defines the name with --include-path")  # fmt: skip

    names = [n.strip() for n in name.split(",") if n.strip()]
    return Group(name, None, [one(n) for n in names], [], listed=True) if len(names) > 1 else one(name)
