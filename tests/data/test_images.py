import numpy as np
import pytest
from PIL import Image

from hf_replearn.data.images import ImageDataConfig, load_image_dataset
from hf_replearn.errors import UserError


def test_digits_layout_and_split():
    ds = load_image_dataset(ImageDataConfig(name="digits"))
    assert len(ds["train"]) + len(ds["test"]) == 1797
    x = ds["train"][0]["pixel_values"]
    assert x.shape == (1, 8, 8) and x.dtype == np.uint8 and ds["train"]["pixel_values"].max() == 255
    assert ds["train"].features["label"].num_classes == 10
    # the held-out split is fixed whatever the run's seed, and stratified
    assert np.bincount(ds["test"]["label"]).min() >= 44


def test_resize_and_limit():
    ds = load_image_dataset(ImageDataConfig(name="digits", image_size=16), dataset_limit=100)
    assert len(ds["train"]) == 100
    assert ds["train"]["pixel_values"].shape == (100, 1, 16, 16)
    assert ds["test"]["pixel_values"].shape[1:] == (1, 16, 16)


def test_fashion_mnist_and_mnist_5k():
    fm = load_image_dataset(ImageDataConfig(name="fashion_mnist"), dataset_limit=10)
    assert len(fm["test"]) == 10000 and fm["test"]["pixel_values"].shape[1:] == (1, 28, 28)
    assert fm["train"].features["label"].names[9] == "Ankle boot"
    mn = load_image_dataset(ImageDataConfig(name="mnist_5k"))
    assert len(mn["train"]) + len(mn["test"]) == 5000


def _imagefolder(root, sizes, classes=("a", "b")):
    for i, size in enumerate(sizes):
        d = root / classes[i % len(classes)]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.random.rand(size, size) * 255).astype(np.uint8)).save(d / f"{i}.png")
    return root


def test_user_imagefolder(tmp_path):
    root = _imagefolder(tmp_path / "imgs", [10] * 12)
    ds = load_image_dataset(ImageDataConfig(name=str(root)))
    assert ds["train"]["pixel_values"].shape[1:] == (1, 10, 10)
    assert sorted(ds["train"].features["label"].names) == ["a", "b"]


def test_inconsistent_sizes_name_the_row_and_fix(tmp_path):
    root = _imagefolder(tmp_path / "imgs", [10] * 11 + [12])
    with pytest.raises(UserError, match=r"images differ in size .*row \d+.*data.image_size"):
        load_image_dataset(ImageDataConfig(name=str(root), test_size=0.01))
    ds = load_image_dataset(ImageDataConfig(name=str(root), image_size=8, test_size=0.25))
    assert ds["train"]["pixel_values"].shape[1:] == (1, 8, 8)


def test_single_class_and_bad_columns(tmp_path):
    root = _imagefolder(tmp_path / "one", [10] * 8, classes=("only",))
    with pytest.raises(UserError, match="single class"):
        load_image_dataset(ImageDataConfig(name=str(root)))
    root = _imagefolder(tmp_path / "two", [10] * 8)
    with pytest.raises(UserError, match=r"no column `lbl`.*data.label_column"):
        load_image_dataset(ImageDataConfig(name=str(root), label_column="lbl"))
    with pytest.raises(UserError, match="could not load image dataset"):
        load_image_dataset(ImageDataConfig(name=str(tmp_path / "missing-dir-and-not-a-hub-id")))
    with pytest.raises(UserError, match="dataset_limit must be a positive"):
        load_image_dataset(ImageDataConfig(name="digits"), dataset_limit=0)


def test_dataset_without_label_column(tmp_path):
    import datasets

    d = datasets.Dataset.from_dict({"image": [Image.new("L", (4, 4))] * 4}).cast_column("image", datasets.Image())
    d.save_to_disk(tmp_path / "nolabel")
    # save_to_disk output is not a loadable hub/imagefolder dataset: a parquet file with no label column is.
    d.to_parquet(tmp_path / "p" / "train.parquet") if (tmp_path / "p").mkdir() is None else None
    with pytest.raises(UserError, match=r"no label column .*data.label_column"):
        load_image_dataset(ImageDataConfig(name=str(tmp_path / "p")))
