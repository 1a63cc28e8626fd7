"""Smoke tests: the shipped SimCLR recipes run for a few steps on CPU through the real CLI."""

import json
from pathlib import Path

import pytest

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["model.widths=[8,16]", "model.projection_dim=8", "evaluation.seeds=1", "evaluation.tsne_points=200",
        "per_device_train_batch_size=32", "logging_steps=1", "save_steps=4", "learning_rate=0.01"]  # fmt: skip


def test_quickstart_runs_and_writes_results(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "max_steps=8", "dataset_limit=256", *TINY])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 8
    assert results["train/last_logged_loss"] < results["train/first_logged_loss"]  # the loss fell
    for features in ("model", "raw", "pca", "random_init"):
        for budget in ("1_per_class", "10_per_class", "all"):
            assert 0 <= results[f"linear_probe/{features}/{budget}"] <= 1
        assert 0 <= results[f"knn/{features}"] <= 1
        # 256 images hold about 20 per class: the recipe's 100/class budget cannot be drawn, so it is left out
        assert f"linear_probe/{features}/100_per_class" not in results
    # digits are easy: even a briefly trained encoder is far above chance (0.1) with all labels
    assert results["linear_probe/model/all"] > 0.5
    assert (out / "model.safetensors").is_file() and (out / "tsne.png").stat().st_size > 1000
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "model-index" in card and "| model |" in card
    printed = capsys.readouterr().out
    assert "| features |" in printed and "100 labels per class left out: the smallest training class has" in printed

    # The same output directory again: refused, nothing overwritten.
    before = (out / "results.json").read_bytes()
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "max_steps=2", *TINY]) == 2
    assert "already holds another run" in capsys.readouterr().err
    assert (out / "results.json").read_bytes() == before

    # Resuming from the last checkpoint continues to max_steps.
    code = main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "max_steps=10", "dataset_limit=256",
                 "resume_from_checkpoint=true", "evaluation.baselines=[]", "evaluation.tsne=false", *TINY])  # fmt: skip
    assert code == 0
    assert json.loads((out / "results.json").read_text())["train/steps"] == 10

    # The probe command on the saved model.
    code = main(["eval", "probe", "--model", str(out), "--dataset", "digits", "--seeds", "1", "--no-baselines",
                 "--output-dir", str(tmp_path / "probe")])  # fmt: skip
    assert code == 0
    probe = json.loads((tmp_path / "probe" / "results.json").read_text())
    assert set(probe) >= {"linear_probe/model/10_per_class", "knn/model"}
    # ... and on pooled stage maps: h stays in the table as model_h, with the same numbers as above.
    code = main(["eval", "probe", "--model", str(out), "--dataset", "digits", "--seeds", "1", "--no-baselines",
                 "--feature-stages", "-2", "-1", "--feature-grid", "2", "--output-dir", str(tmp_path / "probe2")])  # fmt: skip
    assert code == 0
    stages = json.loads((tmp_path / "probe2" / "results.json").read_text())
    assert stages["linear_probe/model_h/all"] == probe["linear_probe/model/all"]
    assert "encoder stages [-2, -1]" in capsys.readouterr().out


def test_smaller_views_train_the_encoder_at_their_side_and_probe_at_the_image_side(tmp_path):
    import torch

    sides = []  # the side of every batch the stem convolution (the only one reading 1 channel) sees

    def record(module, inputs):
        if isinstance(module, torch.nn.Conv2d) and module.in_channels == 1:
            sides.append(inputs[0].shape[-1])

    hook = torch.nn.modules.module.register_module_forward_pre_hook(record)
    try:
        out = tmp_path / "run"
        code = main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "max_steps=2", "dataset_limit=128",
                     "augment.view_size=8", "evaluation.baselines=[]", "evaluation.tsne=false", *TINY])  # fmt: skip
    finally:
        hook.remove()
    assert code == 0
    assert sides[:2] == [8, 8] and set(sides[2:]) == {16}  # two training steps on 8x8 views, then the 16x16 images
    assert json.loads((out / "results.json").read_text())["linear_probe/model/all"] > 0.3


def test_view_size_with_a_transformers_backbone_is_refused(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "max_steps=1", "augment.view_size=8",
                 "model.backbone=some/vit"]) == 2  # fmt: skip
    assert "augment.view_size=8 needs the toolkit's ResNet encoder" in capsys.readouterr().err
    assert not out.exists()



def test_the_fashion_mnist_recipe_on_a_pretrained_colour_backbone(tmp_path, capsys):
    """The README's row: model.backbone=PATH model.backbone_pretrained=true on simclr_fashion_mnist.yaml. Its stage
    readout is the built-in ResNet's, so the probe reads h; the grey images go into the RGB backbone, normalised."""
    import torch
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetModel

    torch.manual_seed(0)
    ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])).save_pretrained(tmp_path / "resnet")
    ConvNextImageProcessor(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(tmp_path / "resnet")
    out = tmp_path / "run"
    assert main(["train", str(RECIPES / "simclr_fashion_mnist.yaml"), f"output_dir={out}", "max_steps=2",
                 "dataset_limit=64", f"model.backbone={tmp_path / 'resnet'}", "model.backbone_pretrained=true",
                 "evaluation.seeds=1", "evaluation.tsne=false"]) == 0  # fmt: skip
    assert "the probe reads h = f(x)" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert 0 <= results["linear_probe/model/all"] <= 1 and "linear_probe/model_h/all" not in results
    config = json.loads((out / "config.json").read_text())
    assert config["backbone_normalization"]["mean"] == pytest.approx([0.485, 0.456, 0.406])  # the processor's
    tuned = tmp_path / "tuned"  # fine-tuned from that run: its encoder reads pixels as the run's did
    assert main(["train", str(RECIPES / "finetune_images.yaml"), f"output_dir={tuned}", f"model.init_from={out}",
                 "max_steps=1", "dataset_limit=64", "data.label_fraction=0.5"]) == 0  # fmt: skip
    assert json.loads((tuned / "config.json").read_text())["backbone_normalization"] == config["backbone_normalization"]

@pytest.mark.parametrize(
    "override, message",
    [
        ("model.widht=[8]", "did you mean `model.widths`"),
        ("data.name=nowhere-dataset", "data.name=nowhere-dataset is not a local folder, and the hub is unreachable"),
        ("augment.flip_p=2", "augment.flip_p"),
        ("augment.view_size=3", "augment.view_size must be at least 4 pixels"),
        ("model.contrastive_temperature=0", "model: SimCLRConfig contrastive_temperature must be > 0, got 0"),
        ("model.temperature=0.3", "`model.temperature` was renamed `model.contrastive_temperature`"),
        ("model.stem_stride=3", "model: stem_stride must be 1 or 2, got 3"),
        # caught before training (no model.safetensors below), not when the probe runs after it
        ("evaluation.feature_stages=[7]", "quickstart.yaml: evaluation.feature_stages [7]: the encoder has 3 stages"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, override, message):
    out = tmp_path / "bad"
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "max_steps=1", override]) == 2
    err = capsys.readouterr().err
    assert "\nerror: " in "\n" + err and message in err  # after the threads line the CLI prints first
    assert not (out / "model.safetensors").exists()


def test_probe_command_errors(tmp_path, capsys):
    assert main(["eval", "probe", "--model", str(tmp_path), "--dataset", "digits"]) == 2
    assert "no config.json" in capsys.readouterr().err
