"""`hf-replearn eval probe` on an image-text dual encoder: its image tower, read on [0, 1] pixels (or through the
image processor saved beside it), against the raw-pixel baselines; text sets are refused."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (BertConfig, CLIPConfig, CLIPImageProcessor, CLIPModel, VisionTextDualEncoderConfig,
                          VisionTextDualEncoderModel)

import hf_replearn.models  # noqa: F401  (registers image_encoder with the Auto classes)
from hf_replearn.cli import main
from hf_replearn.evaluation.features import load_probe_model
from hf_replearn.evaluation.image_features import extract_features
from hf_replearn.models.image_encoder import ImageEncoderConfig


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """Two classes of 16x16 colour images: `bright_top` has its upper half white."""
    root, rng = tmp_path_factory.mktemp("images"), np.random.default_rng(0)
    for split in ("train", "test"):
        for name in ("bright_top", "noise"):
            (root / split / name).mkdir(parents=True)
            for i in range(10):
                pixels = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
                if name == "bright_top":
                    pixels[:8] = 255
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def dual_encoder(tmp_path_factory):
    """The clip recipe's kind of model: this toolkit's ResNet as the image tower, a small BERT as the text tower."""
    torch.manual_seed(0)
    config = VisionTextDualEncoderConfig.from_vision_text_configs(
        ImageEncoderConfig(num_channels=3, image_size=16, widths=[8, 16]),
        BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
        projection_dim=8,
    )
    path = tmp_path_factory.mktemp("dual") / "model"
    VisionTextDualEncoderModel(config).save_pretrained(path)
    return path


def test_the_probe_reads_the_image_tower_of_a_dual_encoder(dual_encoder, image_folder, tmp_path, capsys):
    pm = load_probe_model(str(dual_encoder), "model", dataset_modality="image")
    assert (pm.kind, pm.modality, pm.image_config.image_size) == ("image_tower", "image", 16)
    pixels = np.stack([np.asarray(Image.open(p)).transpose(2, 0, 1) for p in sorted((image_folder / "test").rglob("*.png"))])
    with torch.no_grad():
        by_hand = pm.model.model.get_image_features(pixel_values=torch.from_numpy(pixels).float() / 255).pooler_output
    np.testing.assert_allclose(extract_features(pm.model, pixels, 8), by_hand.numpy(), atol=1e-5)

    out = tmp_path / "probe"
    code = main(["eval", "probe", "--model", str(dual_encoder), "--dataset", str(image_folder), "--seeds", "1",
                 "--labels-per-class", "1,5", "--no-tsne", "--output-dir", str(out)])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    for features in ("model", "raw", "random_init"):
        assert 0 <= results[f"linear_probe/{features}/5_per_class"] <= 1
    assert results["linear_probe/raw/all"] == 1.0  # the classes differ in half the pixels
    assert "(VisionTextDualEncoderModel), the image tower's embedding" in (out / "probe.md").read_text()


def test_a_text_set_is_refused_before_any_work(dual_encoder, tmp_path, capsys):
    out = tmp_path / "probe"
    assert main(["eval", "probe", "--model", str(dual_encoder), "--dataset", "polarity", "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is an image-text dual encoder (VisionTextDualEncoderModel); the probe reads its image tower" in err
    assert not out.exists()


def test_a_saved_image_processor_prepares_the_pixels(tmp_path):
    """A CLIP as the hub ships one: the image processor beside it resizes and normalises, as CLIP was trained."""
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
        vision_config=dict(image_size=16, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32),
        projection_dim=8,
    )  # fmt: skip
    processor = CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    CLIPModel(config).save_pretrained(tmp_path / "clip")
    processor.save_pretrained(tmp_path / "clip")

    pm = load_probe_model(str(tmp_path / "clip"), "clip", dataset_modality="image")
    assert pm.kind == "image_tower" and pm.model.processor is not None
    pixels = (np.random.default_rng(0).random((4, 3, 20, 20)) * 255).astype(np.uint8)
    with torch.no_grad():
        inputs = processor(images=list(pixels.transpose(0, 2, 3, 1)), return_tensors="pt")["pixel_values"]
        expected = pm.model.model.get_image_features(pixel_values=inputs).pooler_output.numpy()
    np.testing.assert_allclose(extract_features(pm.model, pixels, 4), expected, atol=1e-5)
