import json

import numpy as np
import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation.probe_data import load_text_data, source_modality


def test_glue_folder_jsonl_pairs_and_datasets_folder(tmp_path):
    import datasets

    sst = tmp_path / "SST-2"
    sst.mkdir()
    for name, n in (("train.tsv", 8), ("dev.tsv", 4)):
        (sst / name).write_text("sentence\tlabel\n" + "".join(f"text {i} \"quoted\"\t{i % 2}\n" for i in range(n)))
    data = load_text_data(str(sst))
    assert data.train_x[0] == 'text 0 "quoted"' and data.train_y.tolist() == [0, 1] * 4
    assert data.class_names == ["negative", "positive"] and len(data.test_y) == 4

    rows = [{"a": f"left {i}", "b": f"right {i}", "y": ["cat", "dog"][i % 2]} for i in range(16)]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = load_text_data(str(tmp_path / "pairs.jsonl"), ["a", "b"], "y")
    assert pairs.class_names == ["cat", "dog"] and len(pairs.train_y) == 12 and np.bincount(pairs.test_y).tolist() == [2, 2]
    assert all(isinstance(x, tuple) and x[0].startswith("left") and x[1].startswith("right") for x in pairs.train_x)

    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(6)], "label": [0, 1, 2] * 2})
    datasets.DatasetDict({"train": ds, "test": ds.select(range(3))}).save_to_disk(tmp_path / "saved")
    assert source_modality(str(tmp_path / "saved")) == "text"
    saved = load_text_data(str(tmp_path / "saved"))
    assert saved.train_y.tolist() == [0, 1, 2, 0, 1, 2] and saved.test_x == ["t0", "t1", "t2"]
    with pytest.raises(UserError, match="give budgets|at most 2"):
        saved.check_budgets([3])
    assert source_modality("polarity") == "text" and source_modality("digits") == "image"
    assert source_modality("espeak") == "audio" and source_modality("someone/some-set") is None


def test_a_test_class_without_training_examples_is_refused():
    from hf_replearn.evaluation.probe_data import ProbeData

    data = ProbeData("imgs", "image", None, np.array([0, 0, 1, 1]), None, np.array([0, 1, 2]), ["a", "b", "c"])
    with pytest.raises(UserError, match=r"imgs: test class\(es\) 'c' have no training examples"):
        data.check_budgets([1])
    ProbeData("imgs", "image", None, np.array([0, 0, 1, 1, 2]), None, np.array([0, 1, 2]), ["a", "b", "c"]).check_budgets([1])
