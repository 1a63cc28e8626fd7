"""Smoke test: the CLIP emoji recipe runs a few steps on CPU through the CLI, and its model loads back."""

import json
from pathlib import Path

import pytest
import torch

from hf_replearn.cli import main
from hf_replearn.data.emoji import FONT
from hf_replearn.data.emoji_text import ANNOTATIONS, EMOJI_TEST

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "clip_emoji.yaml"
TINY = ["data.image_size=16", "model.patch_size=8", "model.hidden_size=32", "model.intermediate_size=64",
        "model.text_layers=1", "model.vision_layers=1", "model.attention_heads=2", "model.projection_dim=16",
        "model.vocab_size=300", "model.max_text_length=24", "evaluation.probe.seeds=1",
        "evaluation.probe.labels_per_class=[1]", "evaluation.figure_examples=3", "dataset_limit=64",
        "per_device_train_batch_size=16", "logging_steps=1", "save_steps=100", "max_steps=3"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not (FONT.is_file() and EMOJI_TEST.is_file() and ANNOTATIONS.is_file()),
    reason="apt-get install fonts-noto-color-emoji unicode-data unicode-cldr-core",
)


def test_clip_recipe_runs_and_its_model_loads_back(tmp_path):
    from transformers import AutoModel, AutoTokenizer, CLIPModel

    out = tmp_path / "clip"
    assert main(["train", str(RECIPE), f"output_dir={out}", *TINY]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 3
    for model in ("model", "random_init"):
        for task in ("group", "group_ensemble", "subgroup"):
            assert 0 <= results[f"zero_shot/{task}/{model}"] <= 1
        for k in (1, 5, 10):
            assert 0 <= results[f"retrieval/image_to_text/recall@{k}/{model}"] <= 1
            assert 0 <= results[f"retrieval/text_to_image/recall@{k}/{model}"] <= 1
    held_out = round(0.15 * 1870)
    assert results["retrieval/chance/recall@10"] == pytest.approx(10 / held_out)
    assert results["zero_shot/group/chance"] == pytest.approx(1 / 9)
    assert 1 / 9 < results["zero_shot/group/majority"] < 0.5
    assert {"linear_probe/model/1_per_class", "linear_probe/raw/1_per_class", "linear_probe/random_init/1_per_class"} <= set(results)
    assert (out / "retrieval.png").stat().st_size > 1000
    card = (out / "README.md").read_text()
    assert "](retrieval.png)" in card and "zero_shot/group_ensemble" in card

    # The checkpoint is a transformers CLIPModel: Auto classes load it, and each tower works alone.
    model, tokenizer = AutoModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert isinstance(model, CLIPModel) and model.config.vision_config.image_size == 16
    tokens = tokenizer(["an emoji of grinning face", "an emoji of dog"], padding=True, return_tensors="pt")
    with torch.no_grad():
        text = model.get_text_features(**tokens).pooler_output
        image = model.get_image_features(pixel_values=torch.rand(2, 3, 16, 16)).pooler_output
    assert text.shape == image.shape == (2, 16)


def test_bad_patch_size_fails_before_writing(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["train", str(RECIPE), f"output_dir={out}", *TINY, "model.patch_size=5"]) == 2
    assert "must be a multiple of model.patch_size" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_resnet_image_tower_trains_and_loads_back_as_a_dual_encoder(tmp_path):
    from transformers import AutoModel, VisionTextDualEncoderModel

    from hf_replearn.models.image_encoder import ImageEncoderModel

    out = tmp_path / "clip_resnet"
    tiny = [*TINY, "model.image_tower=resnet", "model.resnet.widths=[4,8]", "model.resnet.stem_stride=2",
            "evaluation.probe.baselines=[random_init]"]  # fmt: skip
    assert main(["train", str(RECIPE), f"output_dir={out}", *tiny]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 3 and 0 <= results["zero_shot/group/model"] <= 1
    model = AutoModel.from_pretrained(out).eval()
    assert isinstance(model, VisionTextDualEncoderModel) and isinstance(model.vision_model, ImageEncoderModel)
    assert model.vision_model.config.widths == [4, 8] and model.visual_projection.in_features == 8
    with torch.no_grad():
        assert model.get_image_features(pixel_values=torch.rand(2, 3, 16, 16)).pooler_output.shape == (2, 16)


@pytest.mark.parametrize("override, message", [
    ("model.image_tower=convnet", "model.image_tower='convnet'; choose one of vit, resnet"),
    ("model.resnet.widths=[4,0]", "widths must be a non-empty list of positive channel counts"),
])  # fmt: skip
def test_bad_image_tower_fails_before_writing(tmp_path, capsys, override, message):
    out = tmp_path / "bad"
    assert main(["train", str(RECIPE), f"output_dir={out}", *TINY, "model.image_tower=resnet", override]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_pretrained_text_tower_stays_fixed_and_loads_back(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    from hf_replearn.models.pretrained import shipped_minilm_path
    from hf_replearn.models.text_encoder import TextEncoderModel

    out = tmp_path / "clip_minilm"
    tiny = [*TINY, "model.text_backbone=minilm", "model.image_tower=resnet", "model.resnet.widths=[4,8]",
            "evaluation.probe.baselines=[]", "max_steps=2"]  # fmt: skip
    assert main(["train", str(RECIPE), f"output_dir={out}", *tiny]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 2 and 0 <= results["zero_shot/group/model"] <= 1
    model, tokenizer = AutoModel.from_pretrained(out).eval(), AutoTokenizer.from_pretrained(out)
    assert isinstance(model.text_model, TextEncoderModel) and tokenizer.vocab_size == 30522
    # Training left the pretrained text tower as it was: the same token states as the shipped MiniLM's.
    shipped = TextEncoderModel.from_backbone(shipped_minilm_path()).eval()
    batch = tokenizer(["an emoji of dog face"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model.text_model(**batch).pooler_output, shipped(**batch).pooler_output)
        assert model.get_text_features(**batch).pooler_output.shape == (1, 16)


def test_text_backbone_that_does_not_load_fails_before_writing(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["train", str(RECIPE), f"output_dir={out}", *TINY, f"model.text_backbone={tmp_path / 'nowhere'}"]) == 2
    assert "model.text_backbone=" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
