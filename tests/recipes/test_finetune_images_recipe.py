"""Smoke tests: recipes/finetune_images.yaml on digits from a 2-step SimCLR run, from scratch and with LoRA,
through the real CLI; bad input stops before any work."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
SIZES = ["model.widths=[8,16]", "model.stem_stride=1"]
TINY = ["data.name=digits", "augment.flip_p=0", *SIZES, "per_device_train_batch_size=16", "logging_steps=1",
        "max_steps=3", "learning_rate=0.01"]  # fmt: skip


@pytest.fixture(scope="module")
def simclr_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("simclr")
    assert main(["train", str(RECIPES / "quickstart.yaml"), f"output_dir={out}", "model.widths=[8,16]",
                 "model.projection_dim=8", "max_steps=2", "dataset_limit=128", "per_device_train_batch_size=32",
                 "evaluation.seeds=1", "evaluation.tsne=false", "evaluation.baselines=[]",
                 "evaluation.labels_per_class=[1]"]) == 0  # fmt: skip
    return out


def _finetune(out, *extra) -> int:
    return main(["train", str(RECIPES / "finetune_images.yaml"), f"output_dir={out}", *TINY, *extra])


def test_finetune_from_simclr_and_from_scratch(simclr_dir, tmp_path):
    from transformers import AutoModelForImageClassification

    import hf_replearn.models  # noqa: F401

    out = tmp_path / "ft"
    assert _finetune(out, f"model.init_from={simclr_dir}", "data.label_fraction=0.1", "data.label_seed=1") == 0
    results = json.loads((out / "results.json").read_text())
    # digits: 1,347 training images, 10 classes of 124 to 142: 10% of each, rounded
    assert results["data/labels_used"] == 136 and results["data/label_fraction"] == 0.1
    assert (results["data/labels_per_class_min"], results["data/labels_per_class_max"]) == (13, 14)
    assert results["train/steps"] == 3 and 0 <= results["eval/accuracy"] <= 1
    model = AutoModelForImageClassification.from_pretrained(out)
    assert model.config.num_labels == 10 and model.config.image_size == 16  # the SimCLR run's 16x16 images
    card = (out / "README.md").read_text()
    assert f"starting from the encoder of `{simclr_dir}`" in card and "| 0.1 | 136 of 1,347 | 13-14 | 1 |" in card

    scratch = tmp_path / "scratch"
    assert _finetune(scratch, "data.label_fraction=0.01", "data.image_size=16") == 0
    results = json.loads((scratch / "results.json").read_text())
    assert results["data/labels_used"] == 10 and "random weights (from scratch)" in (scratch / "README.md").read_text()


def test_finetune_from_a_probe_fitted_head(simclr_dir, tmp_path, capsys):
    out = tmp_path / "lpft"
    assert _finetune(out, f"model.init_from={simclr_dir}", "model.head_init=probe", "data.label_fraction=0.1") == 0
    assert "[finetune] head from a logistic regression on the encoder's h of 136 labelled images" in capsys.readouterr().out
    assert "started from a logistic regression on the frozen encoder's features of the labelled images (LP-FT)" in (
        out / "README.md").read_text()


def test_the_encoder_sizes_are_the_init_from_runs_over_the_recipe_files(simclr_dir, tmp_path, capsys):
    """finetune_images.yaml names the Fashion-MNIST encoder's widths for the from-scratch network; started from a
    run of other sizes (the quickstart's), the run's win: the saved config and the card's hyperparameters say
    [8, 16], and a line says what replaced what."""
    import yaml
    from transformers import AutoModelForImageClassification

    import hf_replearn.models  # noqa: F401

    out = tmp_path / "from_quickstart"
    assert main(["train", str(RECIPES / "finetune_images.yaml"), f"output_dir={out}", f"model.init_from={simclr_dir}",
                 "data.name=digits", "augment.flip_p=0", "max_steps=3", "per_device_train_batch_size=16",
                 "data.label_fraction=0.1"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert f"[finetune] the encoder of model.init_from={simclr_dir}: widths=[8, 16] (the recipe's [32, 64, 128, 256] " \
           "sizes the from-scratch network), stem_stride=1 (the recipe's 2 sizes" in printed
    model = AutoModelForImageClassification.from_pretrained(out)
    assert model.config.widths == [8, 16] and model.config.stem_stride == 1 and model.classifier[-1].in_features == 16
    card = (out / "README.md").read_text()
    hyperparameters = yaml.safe_load(card.split("---")[1])["hyperparameters"]
    assert hyperparameters["model.widths"] == [8, 16] and hyperparameters["model.stem_stride"] == 1


def test_finetune_with_lora_trains_the_adapter_and_the_head(simclr_dir, tmp_path):
    from transformers import AutoModelForImageClassification

    import hf_replearn.models  # noqa: F401

    out = tmp_path / "lora"
    assert _finetune(out, f"model.init_from={simclr_dir}", "lora.r=2", "lora.alpha=4", "lora.dropout=0") == 0
    results = json.loads((out / "results.json").read_text())
    r = 2
    conv = lambda c_in, c_out, k=3: r * c_in * k * k + c_out * r  # noqa: E731  (A: r x c_in x k x k, B: 1x1 to c_out)
    encoder = conv(1, 8) + 2 * conv(8, 8) + conv(8, 16) + conv(16, 16) + conv(8, 16, 1)
    head = 16 * 10 + 10  # trained fully
    assert results["model/trainable_params"] == encoder + head
    merged = AutoModelForImageClassification.from_pretrained(out)
    base = load_file(simclr_dir / "model.safetensors")
    assert not torch.equal(merged.encoder.stem[0].weight, base["encoder.stem.0.weight"])  # B A merged in
    assert (out / "adapter" / "adapter_model.safetensors").is_file() and "LoRA (r=2" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["data.label_fraction=0"], "data.label_fraction must lie in (0, 1]"),
        (["lora.r=2"], "lora adapts a trained encoder"),
        (["model.init_from={simclr}", "model.widths=[8,32]"], "model.widths=[8, 32], but model.init_from="),
        (["model.init_from={simclr}", "data.image_size=8"], "set data.image_size=16"),
        (["model.init_from={nowhere}"], "this folder does not exist"),
        (["model.classifier_dropout=2"], "model: classifier_dropout must lie in [0, 1)"),
        (["model.head_init=probe"], "model.head_init=probe fits the head on a trained encoder's features"),
        (["model.head_init=linear"], "model.head_init='linear'; choose one of random, probe"),
        (["model.init_from={simclr}", "model.head_init=probe", "model.classifier_hidden_dim=8"], "asks for an MLP"),
        (["model.init_from={vit}"], "not an image run of this toolkit; start from one (simclr, moco, rotation, ...), "
                                    "or, for a transformers vision model, use model.backbone="),
    ],
)
def test_bad_input_exits_2_before_training(simclr_dir, tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    vit = tmp_path / "vit"
    if any("{vit}" in e for e in extra):
        from transformers import ViTConfig, ViTModel

        ViTModel(ViTConfig(image_size=16, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=16)).save_pretrained(vit)  # fmt: skip
        capsys.readouterr()  # save_pretrained's progress bar
    extra = [e.format(simclr=simclr_dir, nowhere=tmp_path / "nowhere", vit=vit) for e in extra]
    assert _finetune(out, *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (out / "model.safetensors").exists()
