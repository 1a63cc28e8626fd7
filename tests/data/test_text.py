"""Corpora -> DatasetDict: embedded corpora, local files, seeded splits, and the bad-input errors."""

import json
import shutil

import pytest

from hf_replearn.data import text
from hf_replearn.data.text import CORPORA, load_text_dataset
from hf_replearn.errors import UserError

needs_fortunes = pytest.mark.skipif(not text.FORTUNES_DIR.is_dir(), reason="apt-get install fortunes")


@needs_fortunes
def test_fortunes_splits_are_seeded_and_disjoint():
    a = load_text_dataset("fortunes", validation_fraction=0.1, seed=3, limit=400)
    b = load_text_dataset("fortunes", validation_fraction=0.1, seed=3, limit=400)
    c = load_text_dataset("fortunes", validation_fraction=0.1, seed=4, limit=400)
    assert (len(a["train"]), len(a["validation"])) == (360, 40)
    assert list(a["validation"]["text"]) == list(b["validation"]["text"])
    assert list(a["validation"]["text"]) != list(c["validation"]["text"])
    assert not set(a["train"]["text"]) & set(a["validation"]["text"]) - {""}
    assert all("\n%\n" not in t and t.strip() for t in a["train"]["text"])


@pytest.mark.skipif(not list(text.Path("/usr/share/doc").glob("python3*/html/_sources")), reason="python3-doc")
def test_python_docs_paragraphs():
    first = list(zip(range(50), CORPORA["python-docs"].read()))
    assert len(first) == 50 and all(isinstance(t, str) for _, t in first)


def test_text_json_csv_files(tmp_path):
    (tmp_path / "a.txt").write_text("first line\n\nsecond line\nthird line\n", encoding="utf-8")
    ds = load_text_dataset(tmp_path / "a.txt", validation_fraction=0.34, seed=0)
    assert sorted(list(ds["train"]["text"]) + list(ds["validation"]["text"])) == ["first line", "second line", "third line"]

    rows = [{"body": f"text {i}", "id": i} for i in range(10)]
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    ds = load_text_dataset(tmp_path / "b.jsonl", text_column="body", validation_fraction=0.2)
    assert ds["train"].column_names == ["text"] and len(ds["train"]) == 8

    (tmp_path / "c.csv").write_text("label,sentence\n1,good film\n0,bad film\n1,fine film\n", encoding="utf-8")
    ds = load_text_dataset([tmp_path / "c.csv"], text_column="sentence", validation_fraction=0.34)
    assert sorted(list(ds["train"]["text"]) + list(ds["validation"]["text"])) == ["bad film", "fine film", "good film"]


def test_missing_text_column_names_the_columns(tmp_path):
    (tmp_path / "c.csv").write_text("label,sentence\n1,a\n0,b\n", encoding="utf-8")
    with pytest.raises(UserError, match="no column `text`.*label, sentence"):
        load_text_dataset(tmp_path / "c.csv")


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_corpus_file_is_named(tmp_path, content):
    (tmp_path / "empty.txt").write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match="corpus file .*empty.txt is empty; give a file with text in it"):
        load_text_dataset(tmp_path / "empty.txt")


def test_non_utf8_file_names_file_and_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\u00e9 ok\n".encode("utf-8") + "second caf\u00e9\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin.txt is not UTF-8 text \(line 2.*iconv"):
        load_text_dataset(path)


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(UserError, match="empty.txt is empty"):
        load_text_dataset(tmp_path / "empty.txt")


def test_unknown_corpus_and_missing_file():
    with pytest.raises(UserError, match="unknown corpus `shakespeare`.*fortunes"):
        load_text_dataset("shakespeare")
    with pytest.raises(UserError, match="does not exist"):
        load_text_dataset("/nonexistent/corpus.txt")


def test_missing_package_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(text, "FORTUNES_DIR", tmp_path / "nowhere")
    with pytest.raises(UserError, match="apt-get install fortunes"):
        load_text_dataset("fortunes")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="apt-get install bible-kjv bible-kjv-text"):
        load_text_dataset("kjv-bible")
