"""Export a task with its demonstrations fixed, so lm-eval scores exactly the prompts this package builds.

lm-eval draws demonstrations with its own sampler (``random.Random`` seeded once per task), so the plain
export (:func:`.task.export_lm_eval`) gives the same task but other demonstrations. To compare two
evaluators on the same prompts, :func:`export_with_demonstrations` writes, for one (k, seed), a JSON-lines
file holding each test document's full prompt (``context``) and target, and an lm-eval task that reads it
with ``num_fewshot: 0``: ``doc_to_text: "{{context}}"``, the original choices and target.
"""

from __future__ import annotations

import json
from pathlib import Path

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.task import FewShotTask, export_lm_eval, load_docs, task_from_dict


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
