import json

import numpy as np
import pytest

from hf_replearn.evaluation.fewshot.cli import main


@pytest.fixture
def model_dir(model, tokenizer, tmp_path):
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def _suite(folder):
    """Two lm-eval style tasks sharing a base file, and a group over them (as MMLU's suites are written)."""
    folder.mkdir()
    rows = [{"x": "abcdefgh"[i % 8], "y": "AB"[i % 3 % 2]} for i in range(20)]
    (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "_base.yaml").write_text(
        "dataset_path: json\ndataset_kwargs: {data_files: {train: data.jsonl}}\ntest_split: train\n"
        "output_type: multiple_choice\ndoc_to_choice: ['A', 'B']\ndoc_to_target: y\nfewshot_delimiter: \"\\n\"\n"
        "metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]\nfewshot_config: {sampler: first_n}\n"
        "metadata: {version: 1.0}\n"
    )
    (folder / "t1.yaml").write_text("include: _base.yaml\ntask: t1\ndoc_to_text: '{{x}} ->'\n")
    (folder / "t2.yaml").write_text("include: _base.yaml\ntask: t2\ndoc_to_text: '{{x}}{{x}} =>'\n")
    (folder / "suite.yaml").write_text(
        "group: suite\ntask: [t1, {task: t2, task_alias: second}]\n"
        "aggregate_metric_list: [{metric: acc, weight_by_size: true}]\n"
    )
    return folder


def test_group_results_and_samples_in_lm_eval_layout(model_dir, tmp_path):
    suite = _suite(tmp_path / "suite")
    out = tmp_path / "out"
    argv = ["fewshot", "--model", str(model_dir), "--task", str(suite / "suite.yaml"), "--shots", "0,2",
            "--limit", "6", "--log-samples", "--output-dir", str(out), "--device", "cpu"]
    assert main(argv) == 0
    layout = json.loads((out / "lm_eval" / "k2" / "results.json").read_text())
    assert set(layout) >= {"results", "groups", "group_subtasks", "configs", "versions", "n-shot", "n-samples",
                           "higher_is_better", "config"}
    assert layout["group_subtasks"]["suite"] == ["t1", "t2"] and layout["results"]["t2"]["alias"] == "second"
    assert list(layout["group_subtasks"]) == ["suite"]  # groups only, as lm-eval 0.4.13 writes it: not t1: []
    assert layout["n-shot"]["t1"] == 2 and layout["versions"]["t1"] == 1.0
    assert layout["n-samples"]["t1"] == {"original": 6, "effective": 6}
    for name in ("t1", "t2"):
        lines = [json.loads(x) for x in (out / "lm_eval" / "k2" / f"samples_{name}.jsonl").read_text().splitlines()]
        assert len(lines) == 6 and set(lines[0]) >= {"doc_id", "doc", "target", "arguments", "resps",
                                                     "filtered_resps", "filter", "metrics", "doc_hash",
                                                     "prompt_hash", "target_hash", "acc"}
        accs = [s["acc"] for s in lines]
        assert layout["results"][name]["acc,none"] == pytest.approx(np.mean(accs))
        assert layout["results"][name]["acc_stderr,none"] == pytest.approx(np.std(accs, ddof=1) / np.sqrt(6))
        assert lines[0]["arguments"][0][1] == " A" and len(lines[0]["resps"]) == 2  # one request per choice
        # first_n: the two first documents of the split, the test document itself left out
        assert lines[2]["arguments"][0][0].count("\n") == 2
    t1, t2 = layout["results"]["t1"]["acc,none"], layout["results"]["t2"]["acc,none"]
    assert layout["groups"]["suite"]["acc,none"] == pytest.approx((t1 + t2) / 2)  # equal sizes: plain mean
    assert layout["results"]["suite"] == layout["groups"]["suite"]


def test_a_suite_decides_packing_once_for_every_task_and_k(model_dir, tmp_path, monkeypatch):
    from hf_replearn.evaluation import fast_inference as F

    workloads = []
    monkeypatch.setattr(F, "_packed_rows", lambda layers, workload: workloads.append(workload))
    suite = _suite(tmp_path / "suite")
    argv = ["fewshot", "--model", str(model_dir), "--task", str(suite / "suite.yaml"), "--shots", "0,2",
            "--limit", "6", "--batch-size", "4", "--output-dir", str(tmp_path / "out"), "--device", "cpu"]
    assert main(argv) == 0
    # one decision, weighing the passes of both tasks at k = 0 and 2 (first_n: one seed): 2 batches each
    assert len(workloads) == 1 and [calls for _, calls in workloads[0]] == [2, 2, 2, 2]


def test_a_k_larger_than_the_few_shot_split_stops_before_the_output_folder(model_dir, tmp_path, capsys):
    suite = _suite(tmp_path / "suite")
    out = tmp_path / "out"
    argv = ["fewshot", "--model", str(model_dir), "--task", str(suite / "t1.yaml"), "--shots", "0,40",
            "--output-dir", str(out), "--device", "cpu"]
    assert main(argv) == 2
    assert "k=40 demonstrations asked" in capsys.readouterr().err and not out.exists()


def test_a_group_of_groups_listing_a_tag_as_mmlu_is_written(model_dir, tmp_path, capsys):
    """lm-eval 0.4.13's MMLU: `mmlu` lists subgroups, and each subgroup lists a tag (`mmlu_stem_tasks`) that its
    subject files carry; the tag's tasks are the subgroup's members. One figure for the whole group."""
    suite = _suite(tmp_path / "suite")
    (suite / "t3.yaml").write_text("include: _base.yaml\ntask: t3\ntag: [letter_tasks, other]\ndoc_to_text: '{{x}}?'\n")
    (suite / "t4.yaml").write_text("include: _base.yaml\ntask: t4\ntag: letter_tasks\ndoc_to_text: '{{x}}!'\n")
    (suite / "_tagged.yaml").write_text("group: tagged\ntask: [letter_tasks]\n"
                                        "aggregate_metric_list: [{metric: acc, weight_by_size: true}]\n")  # fmt: skip
    (suite / "_all.yaml").write_text("group: all\ntask: [suite, tagged]\n"
                                     "aggregate_metric_list: [{metric: acc, weight_by_size: true}]\n")  # fmt: skip
    out = tmp_path / "out"
    assert main(["fewshot", "--model", str(model_dir), "--task", str(suite / "_all.yaml"), "--shots", "0,1",
                 "--limit", "4", "--output-dir", str(out), "--device", "cpu"]) == 0  # fmt: skip
    layout = json.loads((out / "lm_eval" / "k1" / "results.json").read_text())
    assert layout["group_subtasks"]["all"] == ["suite", "tagged"] and layout["group_subtasks"]["tagged"] == ["t3", "t4"]
    accs = [layout["results"][t]["acc,none"] for t in ("t1", "t2", "t3", "t4")]
    assert layout["groups"]["tagged"]["acc,none"] == pytest.approx(np.mean(accs[2:]))
    assert layout["groups"]["all"]["acc,none"] == pytest.approx(np.mean(accs))  # four tasks of 4 documents each
    assert sorted(p.name for p in out.glob("*.png")) == ["accuracy_vs_k.png"]

    (suite / "_typo.yaml").write_text("group: typo\ntask: [letter_task]\n")
    assert main(["fewshot", "--model", str(model_dir), "--task", str(suite / "_typo.yaml"), "--output-dir",
                 str(tmp_path / "never"), "--device", "cpu"]) == 2  # fmt: skip
    assert "group `typo` lists `letter_task`, but no task or group file" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_inline_groups_and_tasks_and_members_from_an_include_path(model_dir, tmp_path, capsys):
    """As lm-eval's FLAN and catalan_bench suites are written: a group nested inline, an inline task that `include`s
    a template beside the group file, and a member kept in another folder, found through --include-path."""
    suite = _suite(tmp_path / "suite")
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "_template_yaml").write_text((suite / "_base.yaml").read_text().replace("data.jsonl", str(suite / "data.jsonl")))
    (suites / "bench.yaml").write_text(
        "group: bench\naggregate_metric_list: [{metric: acc}]\ntask:\n"
        "  - group: inline_pair\n    aggregate_metric_list: [{metric: acc}]\n    task:\n"
        "      - {task: q1, include: _template_yaml, doc_to_text: '{{x}} ?'}\n"
        "      - {task: q2, include: _template_yaml, doc_to_text: '{{x}} !'}\n"
        "  - t1\n"
    )
    out = tmp_path / "out"
    args = ["fewshot", "--model", str(model_dir), "--task", str(suites / "bench.yaml"), "--shots", "1", "--limit", "4",
            "--device", "cpu"]  # fmt: skip
    assert main([*args, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "group `bench` lists `t1`, but no task or group file" in err and "--include-path" in err and not out.exists()
    assert main([*args, "--include-path", str(tmp_path / "nowhere"), "--output-dir", str(out)]) == 2
    assert "--include-path=" in capsys.readouterr().err and not out.exists()

    assert main([*args, "--include-path", str(suite), "--output-dir", str(out)]) == 0
    layout = json.loads((out / "lm_eval" / "k1" / "results.json").read_text())
    assert layout["group_subtasks"]["bench"] == ["inline_pair", "t1"] and layout["group_subtasks"]["inline_pair"] == ["q1", "q2"]
    assert layout["n-samples"]["q1"]["effective"] == 4 and layout["configs"]["q2"]["doc_to_text"] == "{{x}} !"
    accs = [layout["results"][t]["acc,none"] for t in ("q1", "q2", "t1")]
    assert layout["groups"]["bench"]["acc,none"] == pytest.approx(np.mean(accs))
