"""The pretext recipes beyond tests/recipes/test_all_recipes.py (which runs each at smoke size): rotation's
loss falling on digits, bad input."""

import json
from pathlib import Path

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["model.widths=[8,16]", "evaluation.seeds=1", "evaluation.tsne=false", "evaluation.labels_per_class=[1]",
        "evaluation.baselines=[pca]", "per_device_train_batch_size=16", "logging_steps=1", "save_steps=100",
        "max_steps=4", "learning_rate=0.01"]  # fmt: skip


def run(tmp_path, recipe, *overrides):
    out = tmp_path / recipe
    assert main(["train", str(RECIPES / recipe), f"output_dir={out}", *TINY, *overrides]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 4
    assert {"linear_probe/model/1_per_class", "linear_probe/model/all", "knn/pca"} <= set(results)
    return out, results


def test_rotation_recipe(tmp_path):
    out, results = run(tmp_path, "rotation_fashion_mnist.yaml", "data.name=digits", "dataset_limit=64")
    assert results["train/last_logged_loss"] < results["train/first_logged_loss"]


def test_context_patch_larger_than_images(tmp_path, capsys):
    bad = ["train", str(RECIPES / "context_fashion_mnist.yaml"), f"output_dir={tmp_path / 'bad'}", "model.patch_size=10"]
    assert main(bad) == 2
    assert "needs 34 pixels, but images are 28" in capsys.readouterr().err


def test_colorization_refuses_grayscale(tmp_path, capsys):
    bad = ["train", str(RECIPES / "colorization_emoji.yaml"), f"output_dir={tmp_path / 'bad'}", "data.name=digits"]
    assert main(bad) == 2
    assert "grayscale" in capsys.readouterr().err
