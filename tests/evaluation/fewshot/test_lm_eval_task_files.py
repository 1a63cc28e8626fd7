"""Every task YAML that lm-eval 0.4.13 ships, read straight from its wheel (lm-eval itself is not installed).

scripts/setup.sh downloads the wheel into .cache/lm_eval/. The test loads each task config into a
FewShotTask (includes resolved inside the wheel, ``!function`` modules checked to exist, not imported),
prints the rest by reason, then builds prompts from synthetic documents for a seeded sample.
"""

import ast
import collections
import importlib.util
import random
import re
import sys
from pathlib import Path

import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.task import _environment, task_from_dict
from hf_replearn.evaluation.fewshot.taskfile import FunctionRef, ZipFiles, read_task_file

WHEEL = Path(__file__).resolve().parents[3] / ".cache" / "lm_eval" / "lm_eval-0.4.13-py3-none-any.whl"
pytestmark = pytest.mark.skipif(not WHEEL.is_file(), reason="scripts/setup.sh downloads lm-eval's wheel into .cache/lm_eval")

REASONS = [  # (pattern in the error, reason)
    (r"`class`|`recipe`", "custom task class"),
    (r"`custom_dataset`", "dataset built by a Python function"),
    (r"`process_results`", "custom scoring function (process_results)"),
    (r"output_type `loglikelihood", "output type loglikelihood / loglikelihood_rolling"),
    (r"metric .* is not implemented|aggregation|metric_list: metric", "metric not implemented"),
    (r"filter .* is not implemented", "filter not implemented"),
    (r"`repeats", "repeats > 1 (sampled generation)"),
    (r"`doc_to_image`|`doc_to_audio`", "image or audio inputs"),
    (r"`gen_prefix`|`use_prompt`", "chat prefix or promptsource prompt"),
    (r"missing required", "incomplete on its own (a template for other files)"),
]


def _reason(message: str) -> str:
    for pattern, reason in REASONS:
        if re.search(pattern, message):
            return reason
    return "other: " + message.split(": ", 1)[-1][:80]


def _missing_modules(files: ZipFiles, ref: FunctionRef, seen: dict) -> list[str]:
    """Top-level imports of a ``!function`` module that are not installed (lm_eval itself is in the wheel)."""
    if ref.module_file not in seen:
        missing = []
        tree = ast.parse(files.read(ref.module_file))
        for node in tree.body:  # module level only: imports inside functions are optional at call time
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                root = name.split(".")[0]
                if root != "lm_eval" and root not in sys.stdlib_module_names and importlib.util.find_spec(root) is None:
                    missing.append(root)
        seen[ref.module_file] = sorted(set(missing))
    return seen[ref.module_file]


def _refs(value):
    if isinstance(value, FunctionRef):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs(v)


@pytest.fixture(scope="module")
def shipped():
    files, cache, modules = ZipFiles(WHEEL), {}, {}
    names = sorted(n for n in files.names if n.endswith(".yaml"))
    loaded, failed, groups, templates = {}, collections.defaultdict(list), [], []
    for name in names:
        raw = read_task_file(name, files, cache)
        if "class" in raw:
            failed["custom task class"].append(name)
            continue
        if "group" in raw:
            groups.append(name)
            continue
        if "task" not in raw:
            templates.append(name)
            continue
        try:
            task = task_from_dict(raw, source=name)
        except UserError as err:
            failed[_reason(str(err))].append(name)
            continue
        refs = list(_refs(raw))
        if any(not files.is_file(r.module_file) for r in refs):
            failed["!function module not beside the YAML"].append(name)
            continue
        missing = sorted({m for r in refs for m in _missing_modules(files, r, modules)})
        if missing:
            failed[f"missing optional module ({', '.join(missing)})"].append(name)
            continue
        loaded[name] = task
    return names, loaded, failed, groups, templates


def test_at_least_90_percent_of_shipped_task_configs_load(shipped, capsys):
    names, loaded, failed, groups, templates = shipped
    n_tasks = len(loaded) + sum(map(len, failed.values()))
    assert len(names) == 13986 and len(groups) == 855 and n_tasks == 13123
    with capsys.disabled():
        print(f"\nlm-eval 0.4.13: {len(loaded)}/{n_tasks} task configs load ({len(loaded) / n_tasks:.1%}); "
              f"{len(groups)} group configs, {len(templates)} files without a task")
        for reason, items in sorted(failed.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(items):5d}  {reason}   e.g. {items[0]}")
    assert len(loaded) / n_tasks >= 0.90


class _Value(str):
    """A synthetic document field: a string that also answers attribute and key look-ups."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Value(f"{self}.{name}")

    def __getitem__(self, key):
        return _Value(f"{self}[{key}]")


def _synthetic_doc(task) -> dict:
    from jinja2 import meta

    env, doc = _environment(), {}
    for key in ("description", "doc_to_text", "doc_to_target", "doc_to_choice"):
        spec = getattr(task, key)
        for s in spec if isinstance(spec, list) else [spec]:
            if not isinstance(s, str):
                continue
            names = meta.find_undeclared_variables(env.parse(s)) if "{" in s else {s}
            for var in names:
                if key == "doc_to_choice":
                    doc[var] = [f"{var} {i}" for i in range(4)]
                elif key == "doc_to_target" and task.doc_to_choice is not None:
                    doc.setdefault(var, 0)
                else:
                    doc.setdefault(var, _Value(var))
    return doc


def test_prompts_from_synthetic_documents_are_well_formed(shipped, capsys):
    _, loaded, _, _, _ = shipped
    templated = sorted(n for n, t in loaded.items() if not any(True for _ in _refs(vars(t))))
    sample = random.Random(0).sample(templated, 200)
    built, skipped = 0, collections.Counter()
    for name in sample:
        task = loaded[name]
        doc = _synthetic_doc(task)
        try:
            (prompt,) = build_prompts(task, [doc], [dict(doc), dict(doc)], k=1, seed=1234)
            target = task.target(doc)
        except (UserError, TypeError, ValueError, IndexError, AttributeError) as err:
            skipped[type(err).__name__] += 1  # a template that needs a richer document than the synthetic one
            continue
        assert isinstance(prompt.context, str) and prompt.context.strip(), name
        assert "{{" not in prompt.context and "{%" not in prompt.context, name
        if task.output_type == "multiple_choice":
            choices = task.choices(doc)
            assert all(0 <= t < len(choices) for t in (target if isinstance(target, list) else [target])), name
            assert task.target_text(doc) in prompt.context, name  # the demonstration carries its answer
        built += 1
    with capsys.disabled():
        print(f"\nprompts built for {built}/200 sampled templated tasks; not renderable from a flat synthetic "
              f"document: {dict(skipped)}")
    assert built >= 120  # measured 123 of 200 with lm-eval 0.4.13; the rest need nested fields


def test_the_shipped_mmlu_suite_loads_as_lm_eval_groups_it(tmp_path):
    """lm-eval 0.4.13's `mmlu/default/_mmlu.yaml` as the wheel ships it: `mmlu` holds four groups, each listing a tag
    (`mmlu_stem_tasks`, ...) that its subject files carry; 57 subjects in all, each with MMLU's own settings."""
    import zipfile

    from hf_replearn.evaluation.fewshot.groups import Group, load_group

    with zipfile.ZipFile(WHEEL) as z:
        z.extractall(tmp_path, [n for n in z.namelist() if n.startswith("lm_eval/tasks/mmlu/default/")])
    group = load_group(tmp_path / "lm_eval" / "tasks" / "mmlu" / "default" / "_mmlu.yaml")
    assert group.name == "mmlu" and all(isinstance(m, Group) for m in group.members)
    sizes = {m.name: len(m.members) for m in group.members}
    assert sizes == {"mmlu_stem": 19, "mmlu_other": 13, "mmlu_social_sciences": 12, "mmlu_humanities": 13}
    tasks = group.tasks()
    assert len(tasks) == len({t.task for t in tasks}) == 57
    algebra = next(t for t in tasks if t.task == "mmlu_abstract_algebra")
    assert (algebra.dataset_path, algebra.dataset_name, algebra.fewshot_split) == ("cais/mmlu", "abstract_algebra", "dev")
    assert algebra.sampler == "first_n" and group.aggregate_metric_list[0]["metric"] == "acc"


def test_bbh_chain_of_thought_filters_give_lm_evals_answers(tmp_path, monkeypatch):
    """lm-eval 0.4.13's bbh/cot_zeroshot files as shipped: their filter classes (`!function utils.MultiChoiceRegexFilter`,
    `MapRegexFilter`, `WordSortFilter`, written against lm-eval's Filter) run from the task's own utils.py, with
    lm-eval importable (here from its wheel), and every pipeline gives what lm-eval's FilterEnsemble gives."""
    import types
    import zipfile

    from hf_replearn.evaluation.fewshot.filters import apply_filters
    from hf_replearn.evaluation.fewshot.task import load_task

    with zipfile.ZipFile(WHEEL) as z:
        z.extractall(tmp_path, [n for n in z.namelist() if n.startswith("lm_eval/tasks/bbh/cot_zeroshot/")])
    monkeypatch.syspath_prepend(str(WHEEL))
    from lm_eval.filters import build_filter_ensemble

    folder = tmp_path / "lm_eval" / "tasks" / "bbh" / "cot_zeroshot"
    cases = {
        "date_understanding": (
            {"input": "Today is 9/7/2021. What is the date tomorrow?\nOptions:\n(A) 09/08/2021\n(B) 09/06/2021\n(C) 10/08/2021",
             "target": "(A)"},
            ["Tomorrow is 09/08/2021. So the answer is (A).", "It must be 09/06/2021, I think.", "answer: C",
             "The answer is (B) or (C).", "no idea"],
        ),
        "sports_understanding": (
            {"input": "Is the following sentence plausible? \"Joao Moutinho caught the screen pass.\"", "target": "no"},
            ["So the answer is no.", "This is plausible.", "Not plausible at all", "The answer is yes.", "hmm"],
        ),
        "word_sorting": (
            {"input": "Sort the following words alphabetically: List: pear apple fig", "target": "apple fig pear"},
            ["apple, fig, pear. The answer is apple fig pear.", "fig apple pear", "none of these"],
        ),
    }
    for name, (doc, answers) in cases.items():
        task = load_task(folder / f"{name}.yaml")
        assert [p["name"] for p in task.filters] == ["flexible-extract", "strict-match"]
        ours = apply_filters(task.filters, [[a] for a in answers], [doc] * len(answers))
        for pipeline in task.filters:
            steps = [(s["function"], {k: v for k, v in s.items() if k != "function"}) for s in pipeline["filter"]]
            instances = [types.SimpleNamespace(resps=[a], doc=doc, filtered_resps={}) for a in answers]
            build_filter_ensemble(pipeline["name"], steps).apply(instances)
            assert ours[pipeline["name"]] == [i.filtered_resps[pipeline["name"]] for i in instances], (name, pipeline["name"])
    assert ours["flexible-extract"] == ["apple fig pear", "fig apple pear", ""]  # word_sorting: the words, in order


def test_at_least_90_percent_of_shipped_group_configs_load(tmp_path, capsys):
    """lm-eval 0.4.13's 855 group files, each as `hf-replearn fewshot --task GROUP --include-path lm_eval/tasks` reads
    it (members from the whole task tree: nested, inline, tagged, or kept in other folders); the rest listed by the
    reason their UserError gives. Any other exception fails the test."""
    import zipfile

    from hf_replearn.evaluation.fewshot.groups import _build, _index

    with zipfile.ZipFile(WHEEL) as z:
        z.extractall(tmp_path, [n for n in z.namelist() if n.startswith("lm_eval/tasks/")])
    root, cache = tmp_path / "lm_eval" / "tasks", {}
    index = _index([root], cache)  # the group's own folder is under the root: one index serves every group
    groups = [(p, raw) for p in sorted(root.rglob("*.yaml"))
              if "group" in (raw := read_task_file(p, cache=cache)) and isinstance(raw.get("task"), list)]  # fmt: skip
    loaded, failed = 0, collections.defaultdict(list)
    for path, raw in groups:
        try:
            _build(path, raw, index, cache, {}, ())
            loaded += 1
        except UserError as err:
            failed[_reason(str(err))].append(str(path.relative_to(root)))
    with capsys.disabled():
        print(f"\nlm-eval 0.4.13: {loaded}/{len(groups)} group configs load ({loaded / len(groups):.1%})")
        for reason, items in sorted(failed.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(items):5d}  {reason}   e.g. {items[0]}")
    assert len(groups) == 855 and loaded / len(groups) >= 0.90
