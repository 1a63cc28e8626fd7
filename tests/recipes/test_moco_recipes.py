"""Smoke tests: the MoCo recipe runs for a few steps on CPU through the real CLI, with each key mechanism."""

import json
from pathlib import Path

import pytest
from safetensors import safe_open

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["model.widths=[8,16]", "model.projection_dim=8", "model.queue_size=32", "evaluation.seeds=1",
        "evaluation.tsne=false", "evaluation.labels_per_class=[1]", "evaluation.baselines=[random_init]",
        "per_device_train_batch_size=16", "logging_steps=1", "save_steps=100", "data.name=digits",
        "dataset_limit=128", "max_steps=4"]  # fmt: skip


@pytest.mark.parametrize("mechanism", ["moco", "end_to_end", "memory_bank"])
def test_moco_recipe_runs(tmp_path, mechanism):
    out = tmp_path / mechanism
    assert main(["train", str(RECIPES / "moco_fashion_mnist.yaml"), f"output_dir={out}", *TINY,
                 f"model.key_mechanism={mechanism}"]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 4
    assert results["train/negatives"] == (15 if mechanism == "end_to_end" else 32)
    assert {"linear_probe/model/1_per_class", "linear_probe/model/all", "knn/random_init"} <= set(results)
    if mechanism == "moco":  # the queue travels with the weights
        with safe_open(out / "model.safetensors", "pt") as f:
            assert {"keys.queue", "keys.queue_ptr"} <= set(f.keys())
            assert int(f.get_tensor("keys.queue_ptr")) == (4 * 16) % 32


@pytest.mark.parametrize(
    "override, message",
    [("model.queue_size=40", "not a multiple of the global batch size 16"),
     ("model.momentum=1.0", "momentum must lie in [0, 1)")],
)  # fmt: skip
def test_bad_input(tmp_path, capsys, override, message):
    assert main(["train", str(RECIPES / "moco_fashion_mnist.yaml"), f"output_dir={tmp_path / 'x'}", *TINY, override]) == 2
    assert message in capsys.readouterr().err
