"""Every task YAML that lm-eval 0.4.13 ships, read straight from its wheel (lm-eval itself is not installed).

scripts/setup.sh downloads the wheel into .cache/lm_eval/. The test loads each task config into a
FewShotTask (includes resolved inside the wheel, ``!function`` modules checked to exist, not imported),
prints the rest by reason, then builds prompts from synthetic documents for a seeded sample.
"""

import ast
import collections
import importlib.util
import json
import random
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.keys import FILTERS
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


def _registered_filters(files: ZipFiles) -> set[str]:
    """Every name the wheel's Python registers with ``@register_filter`` (lm-eval's filters and task modules')."""
    pattern = re.compile(r"""@register_filter\(\s*["']([^"']+)["']""")
    return {m for n in files.names if n.endswith(".py") for m in pattern.findall(files.read(n))}


def _unregistered(raw: dict, registered: set[str]) -> list[str]:
    steps = [s for p in raw.get("filter_list") or [] for s in p["filter"]]
    return [s["function"] for s in steps if isinstance(s["function"], str) and s["function"] not in FILTERS
            and s["function"] not in registered]  # fmt: skip


@pytest.fixture(scope="module")
def shipped():
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(WHEEL))  # lm-eval importable, as a user of its tasks has it (its filter registry)
        return _load_shipped()


def _load_shipped():
    files, cache, modules = ZipFiles(WHEEL), {}, {}
    registered = _registered_filters(files)
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
        if _unregistered(raw, registered):
            failed["filter neither implemented nor registered in lm-eval"].append(name)
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


def test_at_least_90_percent_of_shipped_group_configs_load(tmp_path, capsys, monkeypatch):
    """lm-eval 0.4.13's 855 group files, each as `hf-replearn fewshot --task GROUP --include-path lm_eval/tasks` reads
    it (members from the whole task tree: nested, inline, tagged, or kept in other folders); the rest listed by the
    reason their UserError gives. Any other exception fails the test."""
    import zipfile

    monkeypatch.syspath_prepend(str(WHEEL))  # lm-eval importable, as a user of its tasks has it (its filter registry)

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


REGISTERING_UTILS = '''
from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter


@register_filter("hf_replearn_test_last_word")
class LastWord(Filter):
    def apply(self, resps, docs):
        return [[r.split()[-1] if r.split() else "" for r in rs] for rs in resps]


def keep(docs):
    return docs
'''


def test_filters_lm_eval_registers_run_from_its_registry_as_lm_eval_runs_them(tmp_path, monkeypatch):
    """`function: format_span` / `regex_pos` (lm-eval's afrobench filters) and a name that the task's own module
    registers with @register_filter (as acpbench's ACP_grammar_filter) give what lm-eval's FilterEnsemble gives."""
    from hf_replearn.evaluation.fewshot.filters import apply_filters
    from hf_replearn.evaluation.fewshot.task import load_task

    monkeypatch.syspath_prepend(str(WHEEL))
    from lm_eval.filters import build_filter_ensemble

    (tmp_path / "utils.py").write_text(REGISTERING_UTILS)
    (tmp_path / "t.yaml").write_text(
        "task: t\ndataset_path: json\noutput_type: generate_until\ndoc_to_text: '{{q}}'\ndoc_to_target: a\n"
        "process_docs: !function utils.keep\nfilter_list:\n"
        "  - {name: spans, filter: [{function: format_span}, {function: take_first}]}\n"
        "  - {name: pos, filter: [{function: regex_pos}, {function: take_first}]}\n"
        "  - {name: last, filter: [{function: hf_replearn_test_last_word}, {function: take_first}]}\n")  # fmt: skip
    task = load_task(tmp_path / "t.yaml")
    task.resolve_functions()  # imports utils.py, which registers its filter
    answers = ["Person: John Doe $$ Location: Kenya, Uganda", "[('Ali', 'PROPN'), ('runs', 'VERB'), ('.', 'PUNCT')]",
               "ORG: none\nDATE: monday", "nothing here"]  # fmt: skip
    docs = [{"q": str(i)} for i in range(len(answers))]
    ours = apply_filters(task.filters, [[a] for a in answers], docs)
    for pipeline in task.filters:
        steps = [(s["function"], {k: v for k, v in s.items() if k != "function"}) for s in pipeline["filter"]]
        instances = [types.SimpleNamespace(resps=[a], doc=d, filtered_resps={}) for a, d in zip(answers, docs)]
        build_filter_ensemble(pipeline["name"], steps).apply(instances)
        assert ours[pipeline["name"]] == [i.filtered_resps[pipeline["name"]] for i in instances], pipeline["name"]
    assert ours["spans"][0] == "per: john doe $ loc: kenya $ loc: uganda" and ours["spans"][2] == "date: monday"
    assert ours["pos"][1] == ["PROPN", "VERB", "PUNCT"] and ours["pos"][3] == ["invalid"]
    assert ours["last"] == ["Uganda", "'PUNCT')]", "monday", "here"]


def test_a_filter_name_no_registry_holds_stops_the_command_before_the_model_and_the_output_folder(
        model, tokenizer, tmp_path, monkeypatch, capsys, write_task):  # fmt: skip
    from hf_replearn.evaluation.fewshot.cli import main

    monkeypatch.syspath_prepend(str(WHEEL))
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    write_task(tmp_path)
    raw = {k: v for k, v in yaml.safe_load((tmp_path / "tiny.yaml").read_text()).items() if k not in ("doc_to_choice", "metric_list")}
    raw.update(output_type="generate_until", generation_kwargs={"until": ["\n"], "max_gen_toks": 8})
    for name, filters in (("bad", ["format_spam"]), ("good", ["format_span", "take_first"])):
        raw["filter_list"] = [{"name": "spans", "filter": [{"function": f} for f in filters]}]
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(raw))
    argv = ["fewshot", "--model", str(tmp_path / "model"), "--shots", "0", "--device", "cpu", "--output-dir"]
    assert main([*argv, str(tmp_path / "out_bad"), "--task", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "function 'format_spam' is neither one of this evaluator's filters" in err and "Traceback" not in err
    assert not (tmp_path / "out_bad").exists()
    assert main([*argv, str(tmp_path / "out"), "--task", str(tmp_path / "good.yaml")]) == 0
    report = json.loads((tmp_path / "out" / "lm_eval" / "k0" / "results.json").read_text())
    assert set(report["results"]["tiny"]) >= {"exact_match,spans", "exact_match_stderr,spans"}


def test_lm_evals_other_aggregations_and_multiple_choice_metrics(model, tokenizer, tmp_path, monkeypatch, write_task):
    """nanmean, median and brier_score equal lm-eval's own functions; brier_score and likelihood (with the task's own
    aggregation, as e2lmc's mmlu_early_training) on a multiple-choice task, from the scored log-likelihoods."""
    import math

    import numpy as np

    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items
    from hf_replearn.evaluation.fewshot.metrics import aggregate
    from hf_replearn.evaluation.fewshot.task import load_task

    monkeypatch.syspath_prepend(str(WHEEL))
    from lm_eval.api import metrics as lm_metrics

    values = [0.5, float("nan"), 0.25, 1.0]
    assert aggregate(values, "nanmean") == pytest.approx(lm_metrics.nanmean(values)) == pytest.approx(0.58333333)
    assert math.isnan(aggregate([float("nan")], "nanmean"))
    assert aggregate([3, 1, 4, 2], "median") == lm_metrics.median([3, 1, 4, 2]) == 3  # lm-eval's upper middle
    pairs = [(0, [0.7, 0.2, 0.1]), (2, [0.3, 0.3, 0.4]), (1, [0.1, 0.8, 0.1])]
    assert aggregate(pairs, "brier_score") == pytest.approx(lm_metrics.brier_score(pairs))

    (tmp_path / "utils.py").write_text("def gold_margin(items):\n"
                                       "    return sum(lls[g] - max(lls) for g, lls in items) / len(items)\n")  # fmt: skip
    path = write_task(tmp_path)
    raw = {k: v for k, v in yaml.safe_load(path.read_text()).items() if k != "metric_list"}
    text = yaml.safe_dump(raw) + ("metric_list:\n  - metric: brier_score\n  - metric: acc\n  - metric: likelihood\n"
                                  "    aggregation: !function utils.gold_margin\n")  # fmt: skip
    path.write_text(text)
    results, samples = evaluate_items(model, tokenizer, load_task(path), k=0)
    lls = [[r[0][0] for r in s["resps"]] for s in samples]
    golds = [s["target"] if isinstance(s["target"], int) else "AB".index(s["target"]) for s in samples]
    probs = [np.exp(x) / np.exp(x).sum() for x in map(np.array, lls)]
    want = np.mean([np.sum((p - np.eye(2)[g]) ** 2) for p, g in zip(probs, golds)])
    assert results["brier_score,none"] == pytest.approx(want) and 0 < want < 2
    assert results["likelihood,none"] == pytest.approx(np.mean([x[g] - max(x) for x, g in zip(lls, golds)]))
    with pytest.raises(UserError, match=r"metric `likelihood` gives each document's \(gold, log-likelihoods\), which "
                                        r"needs the task's own aggregation"):  # fmt: skip
        path.write_text(text.replace("    aggregation: !function utils.gold_margin\n", ""))
        load_task(path)


def test_a_task_group_or_tag_by_name_as_lm_evals_tasks_option(tmp_path, monkeypatch):
    """`--task NAME` finds what lm-eval's `--tasks NAME` runs: under --include-path folders first, then in lm-eval's
    own task files (here its mmlu/default folder, extracted from the wheel, as an installed lm-eval holds them)."""
    import zipfile

    from hf_replearn.evaluation.fewshot.groups import Group, load_by_name

    with zipfile.ZipFile(WHEEL) as z:
        z.extractall(tmp_path / "site", ["lm_eval/__init__.py"] + [n for n in z.namelist()
                                                                   if n.startswith("lm_eval/tasks/mmlu/default/")])  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "lm_eval", raising=False)  # found anew here, not as another test imported it
    task = load_by_name("mmlu_astronomy", limit=3)
    assert task.task == "mmlu_astronomy" and task.dataset_name == "astronomy" and task.limit == 3
    group = load_by_name("mmlu")
    assert isinstance(group, Group) and group.name == "mmlu" and len(group.tasks()) == 57
    assert [m.name for m in group.members] == ["mmlu_stem", "mmlu_other", "mmlu_social_sciences", "mmlu_humanities"]
    tagged = load_by_name("mmlu_stem_tasks")  # a tag: its tasks, without an aggregate
    assert isinstance(tagged, Group) and len(tagged.tasks()) == 19 and tagged.aggregate_metric_list == []
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "astro.yaml").write_text("task: mmlu_astronomy\ndataset_path: json\noutput_type: generate_until\n"
                                     "doc_to_text: '{{q}}'\ndoc_to_target: a\n")  # fmt: skip
    assert load_by_name("mmlu_astronomy", [mine]).dataset_path == "json"  # an --include-path folder comes first
    with pytest.raises(UserError, match=r"--task mmlu_astronomi: no such file, and no task, group or tag of that name "
                                        r"in the task files under .*mine, .*lm_eval/tasks; did you mean `mmlu_astronomy`"):
        load_by_name("mmlu_astronomi", [mine])


def test_the_command_runs_a_task_by_name_and_explains_a_name_it_cannot_find(model, tokenizer, tmp_path, monkeypatch,
                                                                             capsys, write_task):  # fmt: skip
    from hf_replearn.evaluation.fewshot.cli import main

    monkeypatch.setitem(sys.modules, "lm_eval", None)  # lm-eval not installed
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    folder = tmp_path / "tasks"
    folder.mkdir()
    write_task(folder)
    monkeypatch.chdir(folder)  # the task's data_files are relative to the working directory, as lm-eval reads them
    argv = ["fewshot", "--model", str(tmp_path / "model"), "--shots", "0", "--device", "cpu"]
    assert main([*argv, "--task", "tiny", "--include-path", str(folder), "--output-dir", str(tmp_path / "out")]) == 0
    assert "acc" in json.loads((tmp_path / "out" / "fewshot_results.json").read_text())["results"]["k=0"]
    (folder / "tiny2.yaml").write_text((folder / "tiny.yaml").read_text().replace("task: tiny", "task: tiny2"))
    assert main([*argv, "--task", "tiny,tiny2", "--include-path", str(folder), "--output-dir", str(tmp_path / "both")]) == 0
    report = json.loads((tmp_path / "both" / "lm_eval" / "k0" / "results.json").read_text())  # lm-eval's --tasks a,b
    assert report["results"]["tiny"]["acc,none"] == report["results"]["tiny2"]["acc,none"]
    assert set(report["results"]) == {"tiny", "tiny2"}  # no row of the list's own, as lm-eval reports --tasks a,b
    assert main([*argv, "--task", "hellaswag", "--output-dir", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "--task hellaswag: no such file, and no task, group or tag of that name (no --include-path given); lm-eval, " \
           "whose own task files are searched too, is not installed (pip install lm_eval)" in err
    assert not (tmp_path / "out2").exists()
