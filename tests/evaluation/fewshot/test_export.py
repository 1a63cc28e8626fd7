import json

import pytest
import yaml

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.evaluate import evaluate_task
from hf_replearn.evaluation.fewshot.export import export_with_demonstrations, fixed_prompt_task
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.task import load_docs, load_task


def test_fixed_prompts_are_the_prompts_of_that_k_and_seed(tmp_path, write_task):
    task = load_task(write_task(tmp_path))
    fixed = fixed_prompt_task(task, k=3, seed=2, folder=tmp_path / "out")
    test, shots = load_docs(task)
    rows = [json.loads(line) for line in (tmp_path / "out" / "tiny_k3_seed2.jsonl").read_text().splitlines()]
    assert [r["context"] for r in rows] == [p.context for p in build_prompts(task, test, shots, 3, 2)]
    assert [r["gold"] for r in rows] == [task.target(d) for d in test]
    assert rows[0]["context"].count("\n") == 3 and rows[0]["choices"] == ["A", "B"]
    assert fixed.task == "tiny_k3_seed2" and fixed.num_fewshot == 0


def test_fixed_prompt_task_at_k0_scores_exactly_like_the_task_at_k(tmp_path, write_task, model, tokenizer):
    task = load_task(write_task(tmp_path))
    fixed = fixed_prompt_task(task, k=4, seed=1, folder=tmp_path / "out")
    ours = evaluate_task(model, tokenizer, task, k=4, seed=1)
    again = evaluate_task(model, tokenizer, fixed, k=0)
    assert ours == again
    assert set(ours) == {"acc", "acc_norm", "acc_mutual_info"}


def test_export_writes_an_lm_eval_task_reading_the_fixed_prompts(tmp_path, write_task):
    path = export_with_demonstrations(load_task(write_task(tmp_path)), k=2, seed=0, folder=tmp_path / "lm")
    raw = yaml.safe_load(path.read_text())
    assert raw["task"] == "tiny_k2_seed0" and raw["num_fewshot"] == 0
    assert raw["doc_to_text"] == "{{context}}" and raw["doc_to_choice"] == "choices" and raw["doc_to_target"] == "gold"
    data = raw["dataset_kwargs"]["data_files"]["test"]
    assert data.endswith("tiny_k2_seed0.jsonl") and (tmp_path / "lm" / "tiny_k2_seed0.jsonl").is_file()


def test_generate_tasks_cannot_be_exported_with_fixed_prompts(tmp_path, write_task):
    task = load_task(write_task(tmp_path, output_type="generate_until", doc_to_choice=None, metric_list=[]))
    with pytest.raises(UserError, match="only multiple_choice"):
        fixed_prompt_task(task, k=1, seed=0, folder=tmp_path)
