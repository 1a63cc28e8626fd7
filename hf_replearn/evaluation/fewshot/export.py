"""Export a task to lm-eval: as it is (:func:`export_lm_eval`), or with its demonstrations fixed, so lm-eval
scores exactly the prompts this package builds.

A task using this evaluator's ``per_document`` sampler is exported with lm-eval's default sampler, so
lm-eval shows other demonstrations (tasks using lm-eval's samplers give lm-eval's prompts as they are). To compare two
evaluators on the same prompts, :func:`export_with_demonstrations` writes, for one (k, seed), a JSON-lines
file holding each test document's full prompt (``context``) and target, and an lm-eval task that reads it
with ``num_fewshot: 0``: ``doc_to_text: "{{context}}"``, the original choices and target.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.task import EMBEDDED_PREFIX, FewShotTask, _load_embedded, load_docs, task_from_dict
from hf_replearn.evaluation.fewshot.lmeval_output import higher_is_better
from hf_replearn.evaluation.fewshot.taskfile import FunctionRef


def export_lm_eval(task: FewShotTask, path: str | Path) -> Path:
    """Write ``task`` as an lm-eval task YAML (data paths made absolute, keys lm-eval lacks dropped)."""
    out = {}
    for f in dataclasses.fields(task):
        value = getattr(task, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.metadata.get("internal") or f.name in ("limit", "shuffle_seed") or value in (None, "", {}, []) or (
            f.name != "output_type" and value == default
        ):
            continue
        if isinstance(value, FunctionRef) or f.name in ("process_docs", "fewshot_config") and callable(value):
            raise UserError(f"{task.source}: `{f.name}` is a !function; copy the task file and its module instead")
        out[f.name] = value
    if task.sampler == "per_document":  # this evaluator's own sampler: lm-eval draws with its default one
        out["fewshot_config"] = {k: v for k, v in task.fewshot_config.items() if k != "sampler"}
        if not out["fewshot_config"]:
            del out["fewshot_config"]
    out.setdefault("target_delimiter", task.target_delimiter)
    out.setdefault("fewshot_delimiter", task.fewshot_delimiter)
    if task.shot_split and "fewshot_split" not in out:
        out["fewshot_split"] = task.shot_split
    out["metric_list"] = [
        {"metric": m, "aggregation": task.aggregation(m), "higher_is_better": better}
        for m, better in higher_is_better(task).items()
    ]
    if task.output_type == "generate_until":
        out["generation_kwargs"] = {"until": task.until, "max_gen_toks": task.max_gen_toks,
                                    "do_sample": task.sampling is not None, **(task.sampling or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if task.dataset_path.startswith(EMBEDDED_PREFIX):  # lm-eval cannot build it: write its splits as JSON lines
        data_dir = path.parent / f"{path.stem}_data"
        data_dir.mkdir(exist_ok=True)
        files = {}
        for split, ds in _load_embedded(task).items():
            ds.to_json(data_dir / f"{split}.jsonl", lines=True, force_ascii=False)
            files[split] = str((data_dir / f"{split}.jsonl").resolve())
        out["dataset_path"], out["dataset_kwargs"] = "json", {"data_files": files}
    path.write_text(yaml.safe_dump(out, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def fixed_prompt_task(task: FewShotTask, k: int, seed: int, folder: str | Path) -> FewShotTask:
    """Write ``folder/<task>_k<k>_seed<seed>.jsonl`` and return the zero-shot task over those prompts."""
    if task.output_type != "multiple_choice":
        raise UserError(f"{task.source}: only multiple_choice tasks can be exported with fixed demonstrations "
                        f"(output_type is {task.output_type})")  # fmt: skip
    test, shots = load_docs(task)
    name = f"{task.task}_k{k}_seed{seed}"
    rows = []
    for prompt, doc in zip(build_prompts(task, test, shots, k, seed), test):
        rows.append({"context": prompt.context, "choices": task.choices(doc), "gold": task.target(doc)})
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return task_from_dict({
        "task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test", "output_type": "multiple_choice", "doc_to_text": "{{context}}",
        "doc_to_target": "gold", "doc_to_choice": "choices", "target_delimiter": task.target_delimiter,
        "fewshot_delimiter": task.fewshot_delimiter, "num_fewshot": 0,
        "metric_list": [m for m in task.metric_list],
    }, source=f"{task.source} (k={k}, seed={seed}, fixed prompts)")  # fmt: skip


def export_with_demonstrations(task: FewShotTask, k: int, seed: int, folder: str | Path) -> Path:
    """``folder/<task>_k<k>_seed<seed>.yaml`` for lm-eval (``--include_path folder``), beside its data file."""
    fixed = fixed_prompt_task(task, k, seed, folder)
    return export_lm_eval(fixed, Path(folder) / f"{fixed.task}.yaml")
