"""A user's labelled text files as a classification task: columns, classes, the held-out split, bad rows."""

import numpy as np
import pytest

from hf_replearn.data.labelled_text import HELD_OUT_FRACTION, load_text_classification
from hf_replearn.errors import UserError


def _write(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return str(path)


def test_train_file_alone_holds_out_a_stratified_quarter(tmp_path):
    rows = [(i, f"text {i}", ("neg", "pos", "neutral")[i % 3]) for i in range(60)]  # 20 per class
    ds, task = load_text_classification({"train": _write(tmp_path / "mine.csv", "id,body,mood", rows)}, ["body"], "mood")
    assert task.name == "mine" and task.keys == ("body",) and task.metric_config == "classification"
    assert task.label_names == ("neg", "neutral", "pos") and task.eval_splits == ("validation",)
    assert len(ds["validation"]) == int(60 * HELD_OUT_FRACTION) and len(ds["train"]) == 45
    assert np.bincount(ds["validation"]["label"]).tolist() == [5, 5, 5]  # stratified: 5 of each 20
    by_text = {row["body"]: row["label"] for split in ds.values() for row in split}
    assert by_text["text 0"] == 0 and by_text["text 1"] == 2 and by_text["text 2"] == 1  # neg, pos, neutral -> sorted ids
    assert set(ds["train"].column_names) == {"body", "label"}  # the id column is not carried along


def test_integer_labels_pairs_and_both_evaluation_splits(tmp_path):
    train = _write(tmp_path / "t.csv", "a,b,stars", [("x", "y", 10), ("p", "q", 2), ("", "r", 2), ("s", "t", 10)])
    val = _write(tmp_path / "v.csv", "a,b,stars", [("u", "v", 2)])
    test = _write(tmp_path / "e.csv", "a,b,stars", [("w", "z", 10)])
    ds, task = load_text_classification({"train": train, "validation": val, "test": test}, ["a", "b"], "stars")
    assert task.label_names == ("2", "10")  # numbers sort as numbers, not as strings
    assert task.eval_splits == ("validation", "test") and task.keys == ("a", "b")
    assert list(ds["train"]["label"]) == [1, 0, 0, 1] and list(ds["validation"]["label"]) == [0] and list(ds["test"]["label"]) == [1]
    assert ds["train"]["a"][2] == ""  # an empty field is an empty text, not "None"


def test_a_headerless_csv_with_a_byte_order_mark(tmp_path):
    """As python3-pattern ships its polarity files: no header, a BOM, labels 1 / -1."""
    path = tmp_path / "polarity.csv"
    path.write_bytes("\ufeff".encode() + b'"1","a fine film"\n"-1","a dull film"\n"1","great"\n"-1","awful"\n')
    ds, task = load_text_classification({"train": str(path), "test": str(path)}, ["text"], "label",
                                        column_names=["label", "text"])  # fmt: skip
    assert task.label_names == ("-1", "1")  # the mark is not part of the first label (no class "\ufeff1")
    assert list(ds["train"]["label"]) == [1, 0, 1, 0] and ds["train"]["text"][0] == "a fine film"


def test_a_headerless_csv_without_column_names_says_how(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('"1","a fine film"\n"-1","a dull film"\n')
    with pytest.raises(UserError, match="no label column `label`; the columns found are 1, a fine film.*data.column_names"):
        load_text_classification({"train": str(path)}, ["text"], "label")
    json_file = tmp_path / "p.jsonl"
    json_file.write_text('{"text": "a", "label": 1}\n')
    with pytest.raises(UserError, match="data.column_names names the columns of a CSV / TSV file without a header"):
        load_text_classification({"train": str(json_file)}, ["text"], "label", column_names=["label", "text"])


def test_a_save_to_disk_folder_keeps_its_class_names_and_refuses_unlabelled_rows(tmp_path):
    import datasets

    names = datasets.ClassLabel(names=["sports", "politics", "science"])
    def split(texts, labels):
        return datasets.Dataset.from_dict({"text": texts, "label": labels},
                                          features=datasets.Features({"text": datasets.Value("string"), "label": names}))
    folder = tmp_path / "news"
    datasets.DatasetDict(train=split(["goal", "vote", "atom", "match"], [0, 1, 2, 0]),
                         validation=split(["law"], [1])).save_to_disk(str(folder))  # fmt: skip
    ds, task = load_text_classification(None, None, "label", dataset=str(folder))
    assert task.name == "news" and task.label_names == ("sports", "politics", "science")  # its order, not sorted
    assert list(ds["train"]["label"]) == [0, 1, 2, 0] and task.eval_splits == ("validation",)
    datasets.DatasetDict(train=split(["goal", "vote"], [0, 1]), test=split(["?"], [-1])).save_to_disk(str(tmp_path / "gap"))
    with pytest.raises(UserError, match=r"data.dataset=.*gap \(test split\): 1 row\(s\) without a `label` label \(data row 1"):
        load_text_classification(None, None, "label", dataset=str(tmp_path / "gap"))
    with pytest.raises(UserError, match="data.dataset and data.data_files both name the data"):
        load_text_classification({"train": "x.csv"}, None, "label", dataset=str(folder))


def test_a_folder_holding_one_split_is_named(tmp_path):
    import datasets

    datasets.Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]}).save_to_disk(str(tmp_path / "one"))
    with pytest.raises(UserError, match="data.dataset=.*one holds a single split; save a DatasetDict with a `train` split"):
        load_text_classification(None, None, "label", dataset=str(tmp_path / "one"))
