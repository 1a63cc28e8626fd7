"""`hf-replearn eval probe` on an image-text dual encoder: its image tower on images, read on [0, 1] pixels (or
through the image processor saved beside it), against the raw-pixel baselines; its text tower on text."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (BertConfig, BertTokenizerFast, CLIPConfig, CLIPImageProcessor, CLIPModel,
                          VisionTextDualEncoderConfig, VisionTextDualEncoderModel)

import hf_replearn.models  # noqa: F401  (registers image_encoder with the Auto classes)
from hf_replearn.cli import main
from hf_replearn.evaluation.features import Readout, compute_hidden_states, load_probe_model
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


WORDS = ["good", "great", "fine", "bad", "awful", "poor", "the", "film", "was", "very", "plot"]


@pytest.fixture(scope="module")
def dual_encoder(tmp_path_factory):
    """The clip recipe's kind of model: this toolkit's ResNet as the image tower, a small BERT as the text tower,
    with its WordPiece tokenizer saved beside it."""
    torch.manual_seed(0)
    config = VisionTextDualEncoderConfig.from_vision_text_configs(
        ImageEncoderConfig(num_channels=3, image_size=16, widths=[8, 16]),
        BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
        projection_dim=8,
    )
    path = tmp_path_factory.mktemp("dual") / "model"
    VisionTextDualEncoderModel(config).save_pretrained(path)
    vocab = path.parent / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab=str(vocab)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    """A csv of short reviews, labelled by whether they hold a good word or a bad one."""
    rng = np.random.default_rng(0)
    rows = ["text,label"]
    for i in range(60):
        label = i % 2
        words = [str(rng.choice(WORDS[:3] if label else WORDS[3:6])), *rng.choice(WORDS[6:], size=3)]
        rows.append(f"{' '.join(rng.permutation(words))},{label}")
    path = tmp_path_factory.mktemp("text") / "reviews.csv"
    path.write_text("\n".join(rows) + "\n")
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


def test_on_text_the_probe_reads_the_text_tower(dual_encoder, text_file, tmp_path):
    pm = load_probe_model(str(dual_encoder), "model", dataset_modality="text")
    assert (pm.kind, pm.modality) == ("text_tower", "text")
    texts = ["the film was very good", "awful", "great plot", "the plot was poor and the film bad"]
    with torch.no_grad():  # one text at a time, unpadded: batching and padding must not change a text's embedding
        by_hand = [pm.model.model.get_text_features(**pm.processor(t, return_tensors="pt")).pooler_output[0] for t in texts]
    got = compute_hidden_states(pm, texts, Readout(batch_size=3, precision="fp32", cache=False))
    assert got.shape == (1, 4, 8)  # one "layer": the 8-dim joint space
    np.testing.assert_allclose(got[0], torch.stack(by_hand).numpy(), atol=1e-5)

    out = tmp_path / "probe"
    code = main(["eval", "probe", "--model", str(dual_encoder), "--dataset", str(text_file), "--seeds", "1",
                 "--labels-per-class", "1,5", "--no-tsne", "--output-dir", str(out)])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    for features in ("model", "random_init"):
        assert 0 <= results[f"linear_probe/{features}/5_per_class"] <= 1
    assert "(VisionTextDualEncoderModel), the text tower's embedding (get_text_features)" in (out / "probe.md").read_text()
    fresh = pm.random_init(seed=1)  # the random_init row: the same tower at random init (the fixture is seed 0)
    assert (fresh.kind, fresh.processor) == ("text_tower", pm.processor)
    assert not np.allclose(compute_hidden_states(fresh, texts, Readout(precision="fp32", cache=False)), got, atol=1e-3)


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
