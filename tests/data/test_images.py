import numpy as np
import pytest
from PIL import Image

from hf_replearn.data import images as image_data
from hf_replearn.data.images import ImageDataConfig, flat_pixels, load_image_dataset, split_arrays
from hf_replearn.errors import UserError


def test_digits_layout_and_split():
    ds = load_image_dataset(ImageDataConfig(name="digits"))
    assert len(ds["train"]) + len(ds["test"]) == 1797
    x = ds["train"][0]["pixel_values"]
    assert x.shape == (1, 8, 8) and x.dtype == np.uint8
    images, labels = split_arrays(ds["train"])
    assert images.dtype == np.uint8 and images.max() == 255 and labels.dtype == np.int64
    assert ds["train"].features["label"].num_classes == 10
    # the held-out split is fixed whatever the run's seed, and stratified
    from sklearn.datasets import load_digits

    per_class = np.bincount(load_digits().target)
    assert np.abs(np.bincount(split_arrays(ds["test"])[1]) - 0.25 * per_class).max() <= 1


def test_resize_and_limit():
    ds = load_image_dataset(ImageDataConfig(name="digits", image_size=16), dataset_limit=100)
    assert len(ds["train"]) == 100
    assert split_arrays(ds["train"])[0].shape == (100, 1, 16, 16)
    assert split_arrays(ds["test"])[0].shape[1:] == (1, 16, 16)


def test_fashion_mnist_and_mnist_5k():
    fm = load_image_dataset(ImageDataConfig(name="fashion_mnist"), dataset_limit=10)
    assert len(fm["test"]) == 10000 and split_arrays(fm["test"])[0].shape[1:] == (1, 28, 28)
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
    assert split_arrays(ds["train"])[0].shape[1:] == (1, 10, 10)
    assert sorted(ds["train"].features["label"].names) == ["a", "b"]


def test_inconsistent_sizes_name_the_row_and_fix(tmp_path):
    root = _imagefolder(tmp_path / "imgs", [10] * 11 + [12])
    with pytest.raises(UserError, match=r"images differ in size .*row \d+.*data.image_size"):
        load_image_dataset(ImageDataConfig(name=str(root), test_size=0.01))
    ds = load_image_dataset(ImageDataConfig(name=str(root), image_size=8, test_size=0.25))
    assert split_arrays(ds["train"])[0].shape[1:] == (1, 8, 8)


def test_grayscale_files_among_colour_ones_become_rgb(tmp_path):
    root = tmp_path / "mixed"
    for i in range(12):
        d = root / "ab"[i % 2]
        d.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray((np.random.rand(6, 6, 3) * 255).astype(np.uint8))
        (img.convert("L") if i == 3 else img).save(d / f"{i}.png")
    ds = load_image_dataset(ImageDataConfig(name=str(root), test_size=0.25))
    train, test = split_arrays(ds["train"])[0], split_arrays(ds["test"])[0]
    assert train.shape[1:] == test.shape[1:] == (3, 6, 6)
    grey = next(x for x in np.concatenate([train, test]) if (x[0] == x[1]).all() and (x[1] == x[2]).all())
    assert grey.std() > 0  # the grayscale file, its one channel repeated


def test_image_files_are_decoded_one_at_a_time(tmp_path, monkeypatch):
    """A folder of large photos must not sit in memory decoded before it is resized: each file becomes its array
    before the next one is opened (counted: the decoded PIL images alive whenever one is converted)."""
    import gc

    import hf_replearn.data.images as images

    root = _imagefolder(tmp_path / "imgs", [10] * 12)
    alive, convert = [], images._to_array

    def counting(img, *args):
        gc.collect()
        alive.append(sum(isinstance(o, Image.Image) for o in gc.get_objects()))
        return convert(img, *args)

    monkeypatch.setattr(images, "_to_array", counting)
    ds = load_image_dataset(ImageDataConfig(name=str(root), image_size=4, test_size=0.25))
    assert len(alive) == 12 and max(alive) <= 1, alive
    assert split_arrays(ds["train"])[0].shape[1:] == (1, 4, 4)


@pytest.mark.parametrize("layout", ["split_folders", "class_folders"])
def test_class_folders_are_listed_as_datasets_lists_them(tmp_path, layout):
    """The direct listing gives datasets' imagefolder rows: same files in the same order, same labels and names."""
    import datasets

    from hf_replearn.data.images import _class_folders

    root = tmp_path / "imgs"
    for i in range(14):
        split = ("test" if i % 4 == 0 else "train") if layout == "split_folders" else ""
        d = root / split / ["cat", "dog", "ant"][i % 3]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.random.rand(5, 5) * 255).astype(np.uint8)).save(d / f"{i:02d}.png")
    (root / "README.md").write_text("my images\n")
    (d / "notes.txt").write_text("not an image")
    (d / ".hidden.png").write_bytes(b"")
    ours, theirs = _class_folders(root), datasets.load_dataset(str(root))
    assert set(ours) == set(theirs)
    for split in theirs:
        a, b = ours[split].cast_column("image", datasets.Image(decode=False)), theirs[split].cast_column("image", datasets.Image(decode=False))
        assert [r["path"] for r in a["image"]] == [r["path"] for r in b["image"]]
        assert list(a["label"]) == list(b["label"]) and a.features["label"].names == b.features["label"].names


def test_other_folder_layouts_are_left_to_datasets(tmp_path):
    from hf_replearn.data.images import _class_folders

    root = _imagefolder(tmp_path / "imgs", [4] * 6)
    assert _class_folders(root) is not None
    (root / "a" / "metadata.csv").write_text("file_name,label\n")
    assert _class_folders(root) is None
    (root / "a" / "metadata.csv").unlink()
    (root / "a" / "deeper").mkdir()
    assert _class_folders(root) is None
    (root / "a" / "deeper").rmdir()
    (root / "loose.png").write_bytes((root / "a" / "0.png").read_bytes())
    assert _class_folders(root) is None


def test_a_file_that_is_not_an_image_is_named(tmp_path):
    root = _imagefolder(tmp_path / "imgs", [10] * 12)
    (root / "a" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(UserError, match=r"broken\.png is not an image PIL can read .*remove or replace it"):
        load_image_dataset(ImageDataConfig(name=str(root), test_size=0.5))


def _parquet_dataset(root, columns):
    import datasets

    root.mkdir()
    d = datasets.Dataset.from_dict(columns).cast_column("image", datasets.Image())
    d.to_parquet(str(root / "train.parquet"))
    return root


def test_single_class_and_bad_columns(tmp_path):
    one = _parquet_dataset(tmp_path / "one", {"image": [Image.new("L", (4, 4))] * 8, "label": [3] * 8})
    with pytest.raises(UserError, match="single class"):
        load_image_dataset(ImageDataConfig(name=str(one)))
    root = _imagefolder(tmp_path / "two", [10] * 8)
    with pytest.raises(UserError, match=r"no column `lbl`.*data.label_column"):
        load_image_dataset(ImageDataConfig(name=str(root), label_column="lbl"))
    with pytest.raises(UserError, match="could not load image dataset"):
        load_image_dataset(ImageDataConfig(name=str(tmp_path / "missing-dir-and-not-a-hub-id")))
    with pytest.raises(UserError, match="dataset_limit must be a positive"):
        load_image_dataset(ImageDataConfig(name="digits"), dataset_limit=0)


def test_dataset_without_label_or_image_column(tmp_path):
    nolabel = _parquet_dataset(tmp_path / "nolabel", {"image": [Image.new("L", (4, 4))] * 4})
    with pytest.raises(UserError, match=r"no label column .*data.label_column"):
        load_image_dataset(ImageDataConfig(name=str(nolabel)))
    import datasets

    (tmp_path / "noimage").mkdir()
    datasets.Dataset.from_dict({"text": ["a", "b"] * 4, "label": [0, 1] * 4}).to_parquet(str(tmp_path / "noimage" / "train.parquet"))
    with pytest.raises(UserError, match=r"no image column .*data.image_column"):
        load_image_dataset(ImageDataConfig(name=str(tmp_path / "noimage")))


def test_empty_split_is_a_user_error(monkeypatch):
    from hf_replearn.data import images

    empty = np.zeros((0, 1, 4, 4), np.uint8)
    monkeypatch.setitem(images.EMBEDDED, "empty", lambda cfg: ({"train": (empty, np.zeros(0)), "test": (empty, np.zeros(0))}, ["a"]))
    with pytest.raises(UserError, match="the train split is empty"):
        load_image_dataset(ImageDataConfig(name="empty"))


def test_a_file_datasets_cannot_parse_is_reported_with_the_parsers_message(tmp_path):
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "train.parquet").write_text("not parquet")
    with pytest.raises(UserError, match="could not load image dataset .*ArrowInvalid: Parquet magic bytes not found"):
        load_image_dataset(ImageDataConfig(name=str(tmp_path / "set")))


def test_flat_pixels_keeps_every_image_row_order_and_column(monkeypatch):
    train = load_image_dataset(ImageDataConfig(name="digits"))["train"]
    train = train.add_column("index", list(range(len(train)))).select([7, 3, 3, 0])  # an indices mapping too
    flat, shape = flat_pixels(train)
    assert shape == (1, 8, 8) and flat.column_names == train.column_names and len(flat) == 4
    rows = flat.__getitems__([0, 1, 2, 3])
    assert all(r["pixel_values"].shape == (64,) and r["pixel_values"].dtype == np.uint8 for r in rows)
    want = np.asarray(train[:]["pixel_values"])
    assert np.array_equal(np.stack([r["pixel_values"] for r in rows]).reshape(4, *shape), want)
    assert [int(r["label"]) for r in rows] == [int(v) for v in train[:]["label"]]
    assert [int(r["index"]) for r in rows] == [7, 3, 3, 0]
    assert flat_pixels(flat) == (flat, None)  # already flat: nothing to do
    streamed = train.with_format(None).to_iterable_dataset()
    assert flat_pixels(streamed) == (streamed, None) and flat_pixels([1, 2]) == ([1, 2], None)
    monkeypatch.setattr(image_data, "FLAT_PIXELS_MAX_BYTES", train.data.nbytes - 1)
    assert flat_pixels(train) == (train, None)  # too large to copy: left as it is
