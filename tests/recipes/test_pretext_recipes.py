"""Smoke tests: the rotation, autoencoder and beta-VAE recipes run for a few steps on CPU through the CLI."""

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


def test_autoencoder_recipe(tmp_path):
    out, _ = run(tmp_path, "autoencoder_fashion_mnist.yaml", "data.name=digits", "dataset_limit=64", "model.latent_dim=4")
    assert (out / "reconstructions.png").stat().st_size > 1000 and (out / "interpolation.png").is_file()


def test_beta_vae_sprites_recipe(tmp_path):
    out, results = run(tmp_path, "beta_vae_sprites.yaml", "dataset_limit=64", "model.latent_dim=3")
    assert 0 <= results["disentanglement/mig"] <= 1 and "disentanglement/mig/rotation" in results
    assert (out / "traversal.png").stat().st_size > 1000
    assert "Mutual information gap" in (out / "README.md").read_text()


def test_context_recipe(tmp_path, capsys):
    run(tmp_path, "context_fashion_mnist.yaml", "dataset_limit=48", "data.name=digits", "data.image_size=28")
    bad = ["train", str(RECIPES / "context_fashion_mnist.yaml"), f"output_dir={tmp_path / 'bad'}", "model.patch_size=10"]
    assert main(bad) == 2
    assert "needs 34 pixels, but images are 28" in capsys.readouterr().err


def test_inpainting_recipe(tmp_path):
    out, _ = run(tmp_path, "inpainting_fashion_mnist.yaml", "dataset_limit=48", "data.name=digits", "model.mask=random_region",
                 "model.adversarial_weight=0.001")  # fmt: skip
    assert (out / "inpainting.png").stat().st_size > 1000


def test_colorization_recipe_and_grayscale_error(tmp_path, capsys):
    out, _ = run(tmp_path, "colorization_emoji.yaml", "dataset_limit=48", "data.image_size=16")
    assert (out / "colorization.png").stat().st_size > 1000
    bad = ["train", str(RECIPES / "colorization_emoji.yaml"), f"output_dir={tmp_path / 'bad'}", "data.name=digits"]
    assert main(bad) == 2
    assert "grayscale" in capsys.readouterr().err
