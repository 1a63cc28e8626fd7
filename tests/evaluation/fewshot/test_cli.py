import json

import pytest
import yaml

from hf_replearn.evaluation.fewshot.cli import main
from hf_replearn.evaluation.fewshot.evaluate import evaluate_task, load_model
from hf_replearn.evaluation.fewshot.scoring import score_choices
from hf_replearn.evaluation.fewshot.task import load_task


@pytest.fixture
def model_dir(model, tokenizer, tmp_path):
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def test_fewshot_command_writes_results_and_plot(model_dir, tmp_path, write_task):
    task = write_task(tmp_path, metric_list=[{"metric": "acc"}, {"metric": "acc_norm"}])
    out = tmp_path / "out"
    argv = ["fewshot", "--model", str(model_dir), "--task", str(task), "--shots", "0,2", "--seeds", "2",
            "--output-dir", str(out), "--device", "cpu"]
    assert main(argv) == 0
    report = json.loads((out / "fewshot_results.json").read_text())
    assert report["shots"] == [0, 2] and set(report["results"]["k=2"]) == {"acc", "acc_norm"}
    assert len(report["results"]["k=2"]["acc"]["per_seed"]) == 2
    assert (out / "accuracy_vs_k.png").stat().st_size > 1000
    assert main(argv) == 2  # the output directory now holds a run: refused, not overwritten


def test_export_and_bad_input_exit_codes(tmp_path, write_task, capsys):
    task = write_task(tmp_path)
    assert main(["fewshot", "--task", str(task), "--export-lm-eval", str(tmp_path / "lm.yaml")]) == 0
    assert yaml.safe_load((tmp_path / "lm.yaml").read_text())["task"] == "tiny"
    assert main(["fewshot", "--task", str(tmp_path / "nope.yaml"), "--model", "x"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_lora_adapter_folder_loads_and_scores(model, tokenizer, tmp_path, write_task):
    from peft import LoraConfig, get_peft_model

    import copy

    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=2, target_modules=["c_attn"], fan_in_fan_out=True, init_lora_weights=False))
    (tmp_path / "base").mkdir()
    model.save_pretrained(tmp_path / "base")
    peft_model.peft_config["default"].base_model_name_or_path = str(tmp_path / "base")
    peft_model.save_pretrained(tmp_path / "adapter")
    tokenizer.save_pretrained(tmp_path / "adapter")
    loaded, tok = load_model(str(tmp_path / "adapter"), "cpu")
    task = load_task(write_task(tmp_path, metric_list=[{"metric": "acc"}]))
    assert evaluate_task(loaded, tok, task, k=2, seed=0) == evaluate_task(peft_model.eval(), tokenizer, task, k=2, seed=0)
    reqs = [([5, 6, 7], [[8], [9, 10]])]
    with_adapter = score_choices(loaded, reqs)[0]
    assert [ll for ll, _ in with_adapter] == pytest.approx([ll for ll, _ in score_choices(peft_model, reqs)[0]], abs=1e-5)
    assert [ll for ll, _ in with_adapter] != pytest.approx([ll for ll, _ in score_choices(model, reqs)[0]], abs=1e-3)


def test_a_task_module_that_cannot_import_stops_before_the_model_and_the_output_folder(model_dir, tmp_path, write_task, capsys):
    import yaml

    write_task(tmp_path)
    (tmp_path / "utils.py").write_text("import not_installed_here\n\nclass Strip:\n    pass\n")
    raw = {k: v for k, v in yaml.safe_load((tmp_path / "tiny.yaml").read_text()).items() if k not in ("doc_to_choice", "metric_list")}
    raw["output_type"] = "generate_until"
    (tmp_path / "gen.yaml").write_text(yaml.safe_dump(raw) + "filter_list: [{name: s, filter: [{function: !function utils.Strip}]}]\n")
    out = tmp_path / "out"
    argv = ["fewshot", "--model", str(model_dir), "--task", str(tmp_path / "gen.yaml"), "--output-dir", str(out), "--device", "cpu"]
    assert main(argv) == 2
    assert "imports `not_installed_here`, which is not installed" in capsys.readouterr().err and not out.exists()


def test_a_hub_dataset_that_cannot_be_reached_is_named_with_the_fix(model_dir, tmp_path, write_task, capsys):
    """datasets raises ConnectionError (or DatasetNotFoundError) for a Hub dataset it cannot reach: a UserError naming
    the task file and the dataset, not a traceback, and no output folder."""
    path = write_task(tmp_path, dataset_path="no_such_org/no_such_dataset", dataset_kwargs={})
    out = tmp_path / "out"
    argv = ["fewshot", "--model", str(model_dir), "--task", str(path), "--output-dir", str(out), "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: could not load dataset 'no_such_org/no_such_dataset' (" in err and "Traceback" not in err
    assert err.count("could not load dataset") == 1  # said once, not wrapped a second time
    assert "a Hub dataset needs the Hub reachable (or HF_ENDPOINT set to a mirror)" in err and not out.exists()


CUSTOM_DATASET_UTILS = '''
import datasets

CALLS = []


def build(**kwargs):
    CALLS.append(kwargs)
    rows = [{"input": "abcdefgh"[i % 8], "label": "AB"[i % 2]} for i in range(kwargs["n"] + 4)]
    return {"test": datasets.Dataset.from_list(rows[4:]), "train": rows[:4]}


def not_splits(**kwargs):
    return [1, 2]
'''


def test_a_dataset_built_by_the_tasks_function_with_the_commands_metadata(model_dir, tmp_path, write_task, capsys):
    """`custom_dataset: !function utils.build` (lm-eval's babilong / ruler tasks) is called as lm-eval calls it,
    with the task's metadata (updated by --metadata, as lm-eval's) and dataset_kwargs as keyword arguments."""
    import sys

    write_task(tmp_path)
    (tmp_path / "utils.py").write_text(CUSTOM_DATASET_UTILS)
    raw = {k: v for k, v in yaml.safe_load((tmp_path / "tiny.yaml").read_text()).items() if k != "dataset_path"}
    raw.update(dataset_kwargs={"flavour": "x"}, metadata={"version": 1.0, "n": 2}, training_split="train",
               fewshot_split="train")  # fmt: skip
    text = yaml.safe_dump(raw)
    (tmp_path / "custom.yaml").write_text(text + "custom_dataset: !function utils.build\n")
    out = tmp_path / "out"
    argv = ["fewshot", "--model", str(model_dir), "--task", str(tmp_path / "custom.yaml"), "--shots", "0,2",
            "--seeds", "1", "--device", "cpu", "--log-samples"]  # fmt: skip
    assert main([*argv, "--output-dir", str(out), "--metadata", '{"n": 5}']) == 0
    module = next(m for name, m in sys.modules.items() if name.startswith("hf_replearn_taskfn_") and hasattr(m, "CALLS")
                  and m.__file__ == str(tmp_path / "utils.py"))  # fmt: skip
    assert module.CALLS[-1] == {"version": 1.0, "n": 5, "flavour": "x"}
    samples = (out / "lm_eval" / "k2" / "samples_tiny.jsonl").read_text().splitlines()
    assert len(samples) == 5 and json.loads(samples[0])["doc"] == {"input": "e", "label": "A"}

    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        main([*argv, "--output-dir", str(tmp_path / "o2"), "--metadata", "[1]"])
    assert stop.value.code == 2 and "--metadata must be a JSON object" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text(text + "custom_dataset: !function utils.not_splits\n")
    assert main([*argv, "--output-dir", str(tmp_path / "o3"), "--task", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "custom_dataset (!function utils.not_splits) returned list; it returns the splits" in err
    assert "could not load dataset" not in err  # the function's own error, not wrapped in a loader's
    (tmp_path / "bad2.yaml").write_text(text + "custom_dataset: utils.build\n")
    assert main([*argv, "--output-dir", str(tmp_path / "o4"), "--task", str(tmp_path / "bad2.yaml")]) == 2
    assert "custom_dataset must be a !function (module.name)" in capsys.readouterr().err
    assert not any((tmp_path / o).exists() for o in ("o2", "o3", "o4"))


def test_a_model_without_the_asked_head_is_named_in_one_line(model_dir, tmp_path, write_task, capsys):
    """A ViT (or a GPT-2 with --mlm) has no language-model head: one sentence naming the architecture and the fix,
    before any output folder, where transformers' own error lists every architecture that has one."""
    from transformers import ViTConfig, ViTModel

    task = write_task(tmp_path)
    ViTModel(ViTConfig(image_size=8, patch_size=4, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=16)).save_pretrained(tmp_path / "vit")  # fmt: skip
    out = tmp_path / "out"
    for model, flags, message in [
        (tmp_path / "vit", [], "a vit model (ViTConfig) has no causal-LM head in transformers"),
        (model_dir, ["--mlm"], "a gpt2 model (GPT2Config) has no masked-LM head in transformers"),
    ]:
        assert main(["fewshot", "--model", str(model), *flags, "--task", str(task), "--output-dir", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()[-1]) < 300, err
        assert not out.exists()
