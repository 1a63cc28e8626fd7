"""Imports point down the layers, and no module imports itself back through others.

The layers, lowest first. A module may import its own package and any package on a lower line; two
packages on the same line do not import each other.

    errors                       the one exception type for bad user input
    hf_replearn (root), utils    process-group helpers, atomic file writes, output directories
    config, recipe_sections      recipe dataclasses, YAML reading, overrides (no task knowledge); recipe
                                 sections derived from config classes
    data, losses                 datasets and collators; loss functions
    models                       configuration/modeling pairs (use losses)
    evaluation                   probes, metrics, comparisons (use models, data, config)
    hub                          model cards, the hub client and server (may use evaluation)
    training                     Trainer subclasses, callbacks, checkpoints, LoRA
    tasks                        one module per recipe task: wires data -> model -> Trainer -> evaluation -> hub
    cli                          the ``hf-replearn`` command
    __main__                     ``python -m hf_replearn``

Every ``import`` counts: module level, inside functions, under ``if TYPE_CHECKING``. An import inside a
function still runs the imported module, so it breaks the layering (and makes circles) just the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hf_replearn"

LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("__init__", "utils"),
    ("config", "recipe_sections"),
    ("data", "losses"),
    ("models",),
    ("evaluation",),
    ("hub",),
    ("training",),
    ("tasks",),
    ("cli",),
    ("__main__",),
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def part_of(module: str) -> str:
    """The top-level part of the package a module belongs to (``hf_replearn.models.moco.keys`` -> ``models``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path, name: str, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, imported module of the package) for every import statement in the file, at any depth."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != "hf_replearn":
                continue
            while target not in known and "." in target:  # `import a.b.name` -> the module a.b
                target = target.rsplit(".", 1)[0]
            if (node.lineno, target) not in out:
                out.append((node.lineno, target))
    return out


def upward_imports(root: Path) -> list[str]:
    known = modules(root)
    bad = []
    for name, path in known.items():
        here = part_of(name)
        assert here in RANK, f"{path}: `{here}` has no layer; add it to LAYERS in tests/test_layers.py"
        for line, target in imports(path, name, known):
            there = part_of(target)
            if there != here and RANK[there] >= RANK[here]:
                bad.append(f"{path.relative_to(root.parent)}:{line}: {here} imports {target} ({there} is not below {here})")
    return bad


def import_cycles(root: Path) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other (Tarjan's algorithm)."""
    known = modules(root)
    graph = {name: sorted({t for _, t in imports(path, name, known) if t != name}) for name, path in known.items()}
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in graph:
        if v not in index:
            visit(v)
    return [_one_cycle(graph, group) for group in groups]


def _one_cycle(graph: dict[str, list[str]], group: set[str]) -> list[str]:
    """A path a -> b -> ... -> a inside a strongly connected group (breadth-first, so a shortest one)."""
    start = min(group)
    parent = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in graph[v]:
            if w == start:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if w in group and w not in parent:
                parent[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(name) for name in modules(PACKAGE)}
    assert parts <= set(RANK), f"give these a layer in LAYERS: {sorted(parts - set(RANK))}"


def test_imports_point_down_the_layers():
    bad = upward_imports(PACKAGE)
    assert not bad, "imports that point up (or sideways) the layers:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycles = import_cycles(PACKAGE)
    assert not cycles, "modules that import each other:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    root = tmp_path / "hf_replearn"
    (root / "losses").mkdir(parents=True)
    (root / "training").mkdir()
    (root / "data").mkdir()
    for path in ["__init__.py", "errors.py", "losses/__init__.py", "training/__init__.py", "data/__init__.py"]:
        (root / path).write_text("")
    (root / "training/distributed.py").write_text("def world():\n    return 0, 1\n")
    (root / "losses/ntxent.py").write_text("def loss():\n    from hf_replearn.training.distributed import world\n")
    (root / "data/a.py").write_text("from hf_replearn.data import b\n")
    (root / "data/b.py").write_text("from hf_replearn.errors import X\n\n\ndef f():\n    from .a import g\n")
    assert upward_imports(root) == [
        "hf_replearn/losses/ntxent.py:2: losses imports hf_replearn.training.distributed (training is not below losses)"
    ]
    assert import_cycles(root) == [["hf_replearn.data.a", "hf_replearn.data.b", "hf_replearn.data.a"]]
