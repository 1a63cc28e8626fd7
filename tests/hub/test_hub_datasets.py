"""A text-classification set on the hub (the project's own local server): fine-tuning and the probe read it by id."""

from __future__ import annotations

import huggingface_hub as hh


def test_text_classification_reads_a_hub_dataset_id(hub, monkeypatch, tmp_path):
    import datasets

    from hf_replearn.data.labelled_text import load_text_classification

    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", hub.url)  # datasets keeps its own copies, read at import
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")  # no set cached by another test
    hh.create_repo("team/reviews", repo_type="dataset")
    rows = "".join(f"{text} {i},{label}\n" for i in range(4) for text, label in (("good", "pos"), ("bad", "neg")))
    for split, body in (("train", rows), ("test", "nice,pos\nugly,neg\n")):
        hh.upload_file(path_or_fileobj=f"text,label\n{body}".encode(), path_in_repo=f"{split}.csv", repo_id="team/reviews",
                       repo_type="dataset")  # fmt: skip
    ds, task = load_text_classification(None, None, "label", dataset="team/reviews")
    assert task.name == "team/reviews" and task.label_names == ("neg", "pos") and task.eval_splits == ("test",)
    assert len(ds["train"]) == 8 and list(ds["test"]["label"]) == [1, 0]


def test_captioned_images_read_by_hub_dataset_id(hub, monkeypatch, tmp_path):
    """The clip recipe's own pairs from a hub dataset repo: images and a metadata.jsonl, as imagefolder reads them."""
    import datasets

    from hf_replearn.data.image_text import ImageTextConfig, load_captioned_images
    from tests.recipes.test_clip_own_pairs import make_pairs

    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", hub.url)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    folder = make_pairs(tmp_path / "shapes", n=20)
    hh.create_repo("team/shapes", repo_type="dataset")
    hh.upload_folder(folder_path=str(folder), repo_id="team/shapes", repo_type="dataset")
    pairs = load_captioned_images(ImageTextConfig(name="team/shapes", image_size=16), seed=0)
    assert pairs.images.shape == (20, 3, 16, 16) and len(pairs.test) == 3 and len(pairs.train) == 17
    assert pairs.captions[0] == ("a red circle",) and pairs.class_names == ["bar", "circle", "square"]
