"""lm-eval group files: ``group:`` with a ``task:`` list and ``aggregate_metric_list``, as MMLU-style suites.

Each ``task:`` entry is a task or group name, resolved against the task files under the group file's folder
(recursively), or an inline mapping (a task config, or a known task name with keys that override it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.task import FewShotTask, load_task, task_from_dict
from hf_replearn.evaluation.fewshot.taskfile import read_task_file


@dataclasses.dataclass
class Group:
    name: str
    alias: str | None
    members: list  # FewShotTask or Group
    aggregate_metric_list: list[dict]

    def tasks(self) -> list[FewShotTask]:
        return [t for m in self.members for t in (m.tasks() if isinstance(m, Group) else [m])]


def is_group_file(path: str | Path) -> bool:
    raw = read_task_file(path)
    return "group" in raw and isinstance(raw.get("task"), list)


def _index(folder: Path, cache: dict) -> dict[str, tuple[Path, dict]]:
    index = {}
    for path in sorted(folder.rglob("*.yaml")):
        try:
            raw = read_task_file(path, cache=cache)
        except UserError:
            continue
        name = raw.get("group") if isinstance(raw.get("task"), list) else raw.get("task")
        if isinstance(name, str):
            index.setdefault(name, (path, raw))
    return index


def load_group(path: str | Path, **overrides) -> Group:
    path = Path(path)
    cache: dict = {}
    return _build(path, read_task_file(path, cache=cache), _index(path.parent, cache), cache, overrides, ())


def _build(path, raw, index, cache, overrides, seen) -> Group:
    name = raw["group"]
    if name in seen:
        raise UserError(f"{path}: group `{name}` includes itself ({' -> '.join(seen + (name,))})")
    members = []
    for entry in raw["task"]:
        if isinstance(entry, dict) and "task" in entry and entry["task"] not in index:
            members.append(task_from_dict({**entry, **overrides}, source=f"{path} (inline task {entry['task']})"))
            continue
        key = entry.get("task") if isinstance(entry, dict) else entry
        if key not in index:
            raise UserError(f"{path}: group `{name}` lists `{key}`, but no task or group file under {path.parent} "
                            "defines it; copy its YAML beside the group file")  # fmt: skip
        sub_path, sub_raw = index[key]
        if isinstance(sub_raw.get("task"), list):
            members.append(_build(sub_path, sub_raw, index, cache, overrides, seen + (name,)))
        else:
            extra = {k: v for k, v in entry.items() if k != "task"} if isinstance(entry, dict) else {}
            members.append(load_task(sub_path, cache=cache, **extra, **overrides))
    return Group(name, raw.get("group_alias"), members, list(raw.get("aggregate_metric_list") or []))
