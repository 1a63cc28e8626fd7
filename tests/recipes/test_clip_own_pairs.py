"""The clip recipe on a user's own captioned images: a folder of images with a metadata.jsonl, as datasets reads it."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_replearn.cli import main
from tests.recipes.test_clip_recipe import RECIPE

TINY = ["data.image_size=16", "model.patch_size=8", "model.hidden_size=32", "model.intermediate_size=64",
        "model.text_layers=1", "model.vision_layers=1", "model.attention_heads=2", "model.projection_dim=16",
        "model.vocab_size=200", "model.max_text_length=16", "evaluation.probe.seeds=1",
        "evaluation.probe.labels_per_class=[1]", "evaluation.figure_examples=3", "evaluation.prompt_template=a {}",
        "per_device_train_batch_size=16", "logging_steps=1", "save_steps=100", "max_steps=3"]  # fmt: skip
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 230), "yellow": (230, 220, 30)}


def _draw(shape: str, colour, rng) -> np.ndarray:
    img = np.full((20, 20, 3), 255, np.uint8)
    y, x = np.mgrid[:20, :20]
    cy, cx, r = 10 + rng.integers(-2, 3), 10 + rng.integers(-2, 3), 5 + rng.integers(0, 3)
    inside = {"circle": (y - cy) ** 2 + (x - cx) ** 2 <= r * r, "square": (abs(y - cy) <= r) & (abs(x - cx) <= r),
              "bar": (abs(y - cy) <= 1) & (abs(x - cx) <= r + 3)}[shape]  # fmt: skip
    img[inside] = colour
    return img


def make_pairs(folder: Path, n: int = 80, labels: bool = True, several: bool = False, seed: int = 0) -> Path:
    """``n`` images of coloured shapes with captions ("a red circle"), and the shape as a label column."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    rows = []
    for i in range(n):
        shape, colour = ("circle", "square", "bar")[i % 3], list(COLOURS)[(i // 3) % 4]
        Image.fromarray(_draw(shape, COLOURS[colour], rng)).save(folder / f"{i:03d}.png")
        caption = f"a {colour} {shape}"
        row = {"file_name": f"{i:03d}.png", "text": [caption, f"{shape}, {colour}"] if several else caption}
        if labels:
            row["label"] = shape
        rows.append(row)
    (folder / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


def test_own_pairs_train_and_report_retrieval_zero_shot_and_probe(tmp_path):
    from transformers import AutoModel, AutoTokenizer, CLIPModel

    data, out = make_pairs(tmp_path / "shapes"), tmp_path / "clip"
    assert main(["train", str(RECIPE), f"data.name={data}", f"output_dir={out}", *TINY]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 3
    held_out = round(0.15 * 80)
    assert results["retrieval/chance/recall@10"] == pytest.approx(10 / held_out)
    assert results["zero_shot/label/chance"] == pytest.approx(1 / 3)
    for model in ("model", "random_init"):
        assert 0 <= results[f"zero_shot/label/{model}"] <= 1
        assert 0 <= results[f"retrieval/image_to_text/recall@1/{model}"] <= 1
    assert "zero_shot/group/model" not in results  # the emoji's tasks belong to the emoji
    assert {"linear_probe/model/1_per_class", "linear_probe/raw/1_per_class"} <= set(results)
    assert (out / "retrieval.png").stat().st_size > 1000
    card = (out / "README.md").read_text()
    assert f"{held_out} held-out images of `{data}`" in card and "3 classes; prompts `a {}`" in card
    assert "linear probe on the classes" in card and "](retrieval.png)" in card
    model, tokenizer = AutoModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert isinstance(model, CLIPModel)
    with torch.no_grad():
        assert model.get_text_features(**tokenizer(["a red circle"], return_tensors="pt")).pooler_output.shape == (1, 16)


def test_without_labels_it_reports_retrieval_only_and_draws_among_several_captions(tmp_path):
    data, out = make_pairs(tmp_path / "shapes", labels=False, several=True), tmp_path / "clip"
    assert main(["train", str(RECIPE), f"data.name={data}", f"output_dir={out}", *TINY]) == 0
    results = json.loads((out / "results.json").read_text())
    assert "retrieval/text_to_image/recall@5/model" in results
    assert not any(k.startswith(("zero_shot/", "linear_probe/")) for k in results)
    assert "no label column: retrieval only" in (out / "README.md").read_text()


def test_the_emoji_prompt_on_your_classes_is_pointed_out(tmp_path, capsys):
    data, out = make_pairs(tmp_path / "shapes", n=40), tmp_path / "clip"
    tiny = [o for o in TINY if not o.startswith("evaluation.prompt_template")] + ["max_steps=1"]
    assert main(["train", str(RECIPE), f"data.name={data}", f"output_dir={out}", *tiny]) == 0
    assert "zero-shot prompts read `an emoji of {}`, the emoji's; for your classes set evaluation.prompt_template" in capsys.readouterr().out
    assert "an emoji of {}" in (out / "README.md").read_text()  # the card says which prompts it used


def test_caption_collator_draws_one_of_each_images_captions_reproducibly():
    from hf_replearn.data.image_text import CaptionCollator

    class Tok:
        def __call__(self, texts, **kw):
            self.texts = texts
            return {"input_ids": torch.zeros(len(texts), 1), "attention_mask": torch.ones(len(texts), 1)}

    captions = [("a", "b", "c"), ("only",)] + [("other",)] * 20
    rows = [{"pixel_values": np.zeros((3, 2, 2), np.uint8), "index": i} for i in (0, 1)] * 8
    tok = Tok()
    collate = CaptionCollator(captions, tok, max_length=4, seed=0)
    collate(rows)
    first = list(tok.texts)
    assert set(first[0::2]) <= {"a", "b", "c"} and set(first[1::2]) == {"only"}
    collate(rows)
    assert tok.texts == first  # the same batch draws the same captions (a resumed run sees the same texts)
    drawn = set()
    for start in range(20):
        collate([{"pixel_values": np.zeros((3, 2, 2), np.uint8), "index": 0}, {"pixel_values": rows[1]["pixel_values"], "index": start + 2}])
        drawn.add(tok.texts[0])
    assert drawn == {"a", "b", "c"}


def test_a_test_split_is_the_held_out_set(tmp_path):
    from hf_replearn.data.image_text import ImageTextConfig, load_captioned_images

    make_pairs(tmp_path / "d" / "train", n=30)
    make_pairs(tmp_path / "d" / "test", n=9, seed=1)
    pairs = load_captioned_images(ImageTextConfig(name=str(tmp_path / "d"), image_size=16), seed=0)
    assert pairs.images.shape == (39, 3, 16, 16) and pairs.images.dtype == np.uint8
    assert pairs.train.tolist() == list(range(30)) and pairs.test.tolist() == list(range(30, 39))
    assert pairs.class_names == ["bar", "circle", "square"] and pairs.captions[30] == ("a red circle",)


def _csv_of_paths(tmp_path: Path, missing: bool = False) -> Path:
    """A captions CSV beside an images folder: paths relative to the CSV."""
    folder = make_pairs(tmp_path / "images", n=12)
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    (folder / "metadata.jsonl").unlink()
    if missing:
        rows[5]["file_name"] = "gone.png"
    lines = ["path,caption"] + [f"images/{r['file_name']},{r['text']}" for r in rows]
    (tmp_path / "captions.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "captions.csv"


def test_a_csv_of_image_paths_and_captions(tmp_path):
    from hf_replearn.data.image_text import ImageTextConfig, load_captioned_images

    pairs = load_captioned_images(ImageTextConfig(name=str(_csv_of_paths(tmp_path)), image_size=16), seed=0)
    assert pairs.images.shape == (12, 3, 16, 16) and pairs.labels is None
    assert pairs.captions[:2] == [("a red circle",), ("a red square",)]
    # the images are the files the rows name, in row order (row 1 a square: corners coloured, row 0 a circle: not)
    assert pairs.images[1, 0, 4, 4] > 200 and pairs.images[1, 1, 4, 4] < 100 and pairs.images[0, :, 1, 1].min() > 240


@pytest.mark.parametrize("case, overrides, message", [
    ("no-folder", ["data.name={tmp}/nowhere"], "no such file or folder"),
    ("emoji-key", ["data.name={data}", "data.max_keywords=3"], "data.max_keywords applies to the emoji only"),
    ("columns-with-emoji", ["data.caption_column=text"], "with data.name=emoji remove them"),
    ("caption-column-typo", ["data.name={data}", "data.caption_column=txt"], "has no column `txt` (data.caption_column)"),
    ("label-column-typo", ["data.name={data}", "data.label_column=shape"], "has no column `shape` (data.label_column)"),
    ("no-caption-column", ["data.name={nocaps}"], "has no caption column (looked for text, caption"),
    ("empty-caption", ["data.name={empty}"], "row 4: the caption is ''"),
    ("too-few", ["data.name={few}"], "retrieval needs at least 2 of each"),
    ("missing-file", ["data.name={csv}"], "column `path`, row 5: 'images/gone.png' is not an image file"),
])  # fmt: skip
def test_bad_own_pairs_fail_before_writing(tmp_path, capsys, case, overrides, message):
    data = make_pairs(tmp_path / "shapes", n=12)
    for name, edit in (("nocaps", lambda r: {"file_name": r["file_name"]}), ("empty", lambda r: {**r, "text": ""} if r["file_name"] == "004.png" else r)):
        folder = make_pairs(tmp_path / name, n=12)
        rows = [edit(json.loads(line)) for line in (folder / "metadata.jsonl").read_text().splitlines()]
        (folder / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    make_pairs(tmp_path / "few", n=2)
    csv = _csv_of_paths(tmp_path / "csv", missing=True)
    out = tmp_path / "out"
    filled = [o.format(tmp=tmp_path, data=data, nocaps=tmp_path / "nocaps", empty=tmp_path / "empty", few=tmp_path / "few",
                       csv=csv) for o in overrides]  # fmt: skip
    assert main(["train", str(RECIPE), f"output_dir={out}", *TINY, *filled]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
