"""GLUE task table, local TSV / JSON / CSV loading, and the bad-input errors that name the row."""

import json

import pytest

from hf_replearn.data.glue import GLUE_TASKS, get_glue_task, load_glue
from hf_replearn.errors import UserError


def test_table_has_the_nine_tasks():
    assert list(GLUE_TASKS) == ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"]
    assert [t.num_labels for t in GLUE_TASKS.values()] == [2, 2, 2, 2, 1, 3, 2, 2, 2]
    assert GLUE_TASKS["stsb"].is_regression and not GLUE_TASKS["sst2"].is_regression
    assert GLUE_TASKS["mnli"].eval_splits == ("validation_matched", "validation_mismatched")
    assert GLUE_TASKS["qnli"].keys == ("question", "sentence")


def test_unknown_task_names_the_closest():
    with pytest.raises(UserError, match="`sst-2` is not a GLUE task; did you mean `sst2`"):
        get_glue_task("sst-2")


def test_distribution_tsv_layouts(tmp_path):
    (tmp_path / "CoLA").mkdir()
    for name in ("train", "dev"):  # CoLA: no header; source, label, original label, sentence
        (tmp_path / "CoLA" / f"{name}.tsv").write_text('gj04\t1\t\tThe "book" fell.\nclc95\t0\t*\tBook the fell.\n')
    ds = load_glue(GLUE_TASKS["cola"], data_dir=tmp_path)
    assert ds["train"]["sentence"] == ['The "book" fell.', "Book the fell."] and ds["train"]["label"] == [1, 0]
    (tmp_path / "MNLI").mkdir()
    head = "index\tsentence1\tsentence2\tgold_label\n"
    for name in ("train", "dev_matched", "dev_mismatched"):
        (tmp_path / "MNLI" / f"{name}.tsv").write_text(head + "0\tA man eats.\tSomeone eats.\tentailment\n"
                                                       "1\tA man eats.\tNobody eats.\tcontradiction\n")  # fmt: skip
    ds = load_glue(GLUE_TASKS["mnli"], data_dir=tmp_path)
    assert set(ds) == {"train", "validation_matched", "validation_mismatched"}
    assert ds["validation_mismatched"]["label"] == [0, 2] and ds["train"]["premise"][0] == "A man eats."


def test_json_csv_files_and_stsb_regression(tmp_path):
    rows = [{"sentence1": "a", "sentence2": "b", "label": 3.8}, {"sentence1": "c", "sentence2": "d", "label": 1}]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "dev.csv").write_text("sentence1,sentence2,label\nx,y,4.5\n")
    ds = load_glue(GLUE_TASKS["stsb"], data_files={"train": tmp_path / "train.jsonl", "validation": tmp_path / "dev.csv"})
    assert ds["train"]["label"] == [3.8, 1.0] and ds["validation"]["label"] == [4.5]


def test_bad_input_names_split_and_row(tmp_path):
    (tmp_path / "bad_cols.csv").write_text("text,label\nhello,1\n")
    with pytest.raises(UserError, match="split `train` lacks column\\(s\\) sentence .*rename the columns"):
        load_glue(GLUE_TASKS["sst2"], data_files={"train": tmp_path / "bad_cols.csv"})
    (tmp_path / "bad_label.csv").write_text("sentence,label\nfine,1\nodd,7\n")
    with pytest.raises(UserError, match="split `train`, row 1: label 7 is outside the label set of sst2"):
        load_glue(GLUE_TASKS["sst2"], data_files={"train": tmp_path / "bad_label.csv"})
    (tmp_path / "class.csv").write_text("sentence1,sentence2,label\na,b,2.5\nc,d,positive\n")
    with pytest.raises(UserError, match="row 1: label 'positive' is a class label, but stsb is a regression task"):
        load_glue(GLUE_TASKS["stsb"], data_files={"train": tmp_path / "class.csv"})
    with pytest.raises(UserError, match="MNLI/dev_matched.tsv"):
        (tmp_path / "MNLI").mkdir()
        (tmp_path / "MNLI" / "train.tsv").write_text("sentence1\tsentence2\tgold_label\na\tb\tneutral\n")
        load_glue(GLUE_TASKS["mnli"], data_dir=tmp_path)


def test_hub_unreachable_says_how_to_use_local_files(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(UserError, match="data.data_dir=<folder holding RTE/>"):
        load_glue(GLUE_TASKS["rte"])
