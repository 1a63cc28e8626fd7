"""Text corpora for language-model pretraining, as ``datasets.DatasetDict`` with train/validation splits.

A *source* is one of:

- the name of an embedded corpus (see :data:`CORPORA`): ``fortunes``,
  ``python-docs``, ``web-bible``, ``kjv-bible``, ``gcide``. Each is read where its Debian package
  installs it; nothing is copied into the repository;
- one or more local files: ``.txt`` (one example per line, paragraph or document), ``.json``/``.jsonl``
  or ``.csv``/``.tsv`` (the ``text_column`` holds the text), read with ``datasets.load_dataset``;
- ``hub:<dataset id>``: a dataset on the Hugging Face hub (or in the local cache) with a ``train`` split.

Every loader yields a ``text`` column; blank examples are dropped. The validation split is a seeded
random share of the examples, so the same seed gives the same split.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from hf_replearn.data.paths import load_dataset_or_explain, system_path
from hf_replearn.errors import UserError

# ------------------------------------------------------------------------------------- embedded corpora


@dataclasses.dataclass(frozen=True)
class Corpus:
    name: str
    package: str
    """Debian package(s) that ship the corpus (named in the error when it is missing)."""
    description: str
    read: Callable[[], Iterator[str]]
    """Yields the corpus one example (entry, verse, paragraph) at a time."""


def _missing(name: str, package: str, what: str) -> UserError:
    return UserError(
        f"corpus `{name}` needs {what}, which is not installed; install the Debian package(s) with "
        f"`sudo apt-get install {package}` or pick another corpus ({', '.join(CORPORA)}) or local files"
    )


FORTUNES_DIR = system_path("/usr/share/games/fortunes")


def _read_fortunes() -> Iterator[str]:
    """fortune(6) files: entries separated by a line holding only ``%``; ``.dat`` files are indexes."""
    files = sorted(p for p in FORTUNES_DIR.glob("*") if p.is_file() and not p.is_symlink() and not p.suffix)
    if not files:
        raise _missing("fortunes", "fortunes", f"the fortune files in {FORTUNES_DIR}")
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for entry in re.split(r"^%\s*$", text, flags=re.MULTILINE):
            yield entry.strip("\n")


PYTHON_DOCS_GLOB = "/usr/share/doc/python3*/html/_sources"


def _read_python_docs() -> Iterator[str]:
    """reStructuredText sources of the Python documentation, one example per paragraph."""
    roots = sorted({p.resolve() for p in system_path("/").glob(PYTHON_DOCS_GLOB.lstrip("/")) if p.is_dir()})
    if not roots:
        raise _missing("python-docs", "python3-doc", f"the documentation sources in {PYTHON_DOCS_GLOB}")
    # python3-doc installs one real folder and many symlinks to it; resolve() above de-duplicates them.
    for root in roots:
        for path in sorted(root.rglob("*.txt")):
            text = path.read_text(encoding="utf-8", errors="replace")
            yield from re.split(r"\n\s*\n", text)


_WEB_VERSE = re.compile(r"^\s*[1-4I]*\s?[A-Z][^:\d]*? \d+:\d+: ?(.*)$")


def _read_web_bible() -> Iterator[str]:
    """World English Bible through SWORD's ``diatheke``.

    A verse starts with ``Book C:V: text``; poetry continues on the next lines until a blank line.
    diatheke also prints psalm titles and stray markup between verses: lines outside a verse are dropped.
    """
    if shutil.which("diatheke") is None:
        raise _missing("web-bible", "diatheke sword-text-web", "the `diatheke` program")
    cmd = ["diatheke", "-b", "engWEB2015eb", "-f", "plain", "-k", "Genesis 1:1-Revelation of John 22:21"]
    out = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace").stdout
    verse: list[str] = []
    found = False
    for line in out.splitlines():
        start = _WEB_VERSE.match(line)
        if start or not line.strip() or "<" in line:
            if verse:
                yield " ".join(verse)
                found = True
            verse = [start.group(1).strip()] if start else []
        elif verse:
            verse.append(line.strip())
    if verse:
        yield " ".join(verse)
    elif not found:
        raise _missing("web-bible", "sword-text-web", "the SWORD module engWEB2015eb")


def _read_kjv_bible() -> Iterator[str]:
    """King James Bible through ``bible``: ``  N text`` starts a verse, indented lines continue it."""
    if shutil.which("bible") is None:
        raise _missing("kjv-bible", "bible-kjv bible-kjv-text", "the `bible` program")
    out = subprocess.run(["bible", "gen1:1-rev22:21"], capture_output=True, text=True, errors="replace").stdout
    verse: list[str] = []
    for line in out.splitlines():
        start = re.match(r"^\s+\d+ (.*)$", line)
        if start:
            if verse:
                yield " ".join(verse)
            verse = [start.group(1).strip()]
        elif line.strip() and verse and line[:1] != " " and not re.match(r"^[1-3]? ?[A-Z][a-z ]+ \d+$", line):
            verse.append(line.strip())  # a wrapped continuation line
        elif not line.strip() and verse:
            yield " ".join(verse)
            verse = []
    if verse:
        yield " ".join(verse)


GCIDE_DICT = system_path("/usr/share/dictd/gcide.dict.dz")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 64 + _B64.index(ch)
    return value


def _read_gcide() -> Iterator[str]:
    """Webster 1913 (GCIDE) in dictd format: the ``.index`` gives each entry's byte offset and length."""
    index = GCIDE_DICT.with_name("gcide.index")
    if not GCIDE_DICT.is_file() or not index.is_file():
        raise _missing("gcide", "dict-gcide", f"{GCIDE_DICT}")
    with gzip.open(GCIDE_DICT, "rb") as handle:  # dictzip is gzip-compatible
        data = handle.read()
    spans = set()
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        head, offset, length = line.split("\t")[:3]
        if not head.startswith("00-"):  # database metadata, not entries
            spans.add((_b64(offset), _b64(length)))
    for offset, length in sorted(spans):
        yield re.sub(r"[ \t]*\n[ \t]*", "\n", data[offset : offset + length].decode("utf-8", "replace"))


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in [
        Corpus("fortunes", "fortunes", "15,218 fortune(6) entries in 43 topic files", _read_fortunes),
        Corpus("python-docs", "python3-doc", "Python documentation sources, 1.4M words", _read_python_docs),
        Corpus("web-bible", "diatheke sword-text-web", "World English Bible, 1.26M words", _read_web_bible),
        Corpus("kjv-bible", "bible-kjv bible-kjv-text", "King James Bible, 0.8M words", _read_kjv_bible),
        Corpus("gcide", "dict-gcide", "Webster 1913 dictionary (GCIDE), 5.4M words", _read_gcide),
    ]
}

# ----------------------------------------------------------------------------------------- local files

_BUILDERS = {".txt": "text", ".text": "text", ".md": "text", ".rst": "text", ".json": "json",
             ".jsonl": "json", ".csv": "csv", ".tsv": "csv"}


def check_utf8(path: Path, chunk_size: int = 1 << 20) -> None:
    """Raise a :class:`UserError` naming ``path`` and the line of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_size)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                line += chunk[: err.start].count(b"\n")
                raise UserError(
                    f"{path} is not UTF-8 text (line {line}, byte {err.object[err.start:err.start + 1]!r}); "
                    f"convert it, e.g. `iconv -f latin1 -t utf-8 {path} > {path.with_suffix('.utf8' + path.suffix)}`"
                ) from None
            if not chunk:
                return
            line += chunk.count(b"\n")


def _blank(path: Path) -> bool:
    """Whether the file holds nothing but whitespace (read until the first other byte)."""
    with open(path, "rb") as handle:
        return not any(chunk.strip() for chunk in iter(lambda: handle.read(1 << 20), b""))


def parse_files(builder: str, files, failure: str, **kwargs):
    """``datasets.load_dataset(builder, data_files=files, split="train", **kwargs)``; a file its parser rejects (a
    malformed JSON line, an unclosed quote) is a UserError opening with ``failure`` and giving the parser's own
    message, which datasets wraps in one that names neither (its JSON reader also logs the traceback: kept quiet)."""
    import datasets

    verbosity = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        return datasets.load_dataset(builder, data_files=files, split="train", **kwargs)
    except Exception as err:
        cause = err.__cause__ or err
        raise UserError(f"{failure} ({type(cause).__name__}: {str(cause)[:200]}); fix the file (quotes, delimiters, "
                        "one JSON object per line)") from None
    finally:
        datasets.logging.set_verbosity(verbosity)


def _load_files(paths: Sequence[str | Path], text_column: str, text_unit: str):
    paths = [Path(p) for p in paths]
    kinds = set()
    for path in paths:
        if not path.is_file():
            raise UserError(f"corpus file {path} does not exist; name an existing file or one of {', '.join(CORPORA)}")
        if path.suffix.lower() not in _BUILDERS:
            raise UserError(f"corpus file {path}: unknown extension `{path.suffix}`; use one of {', '.join(_BUILDERS)}")
        if _blank(path):  # datasets' own error for it names neither the file nor the cause
            raise UserError(f"corpus file {path} is empty; give a file with text in it")
        check_utf8(path)
        kinds.add(_BUILDERS[path.suffix.lower()])
    if len(kinds) > 1:
        raise UserError(f"corpus files {', '.join(map(str, paths))} mix formats ({', '.join(sorted(kinds))}); use one")
    (kind,) = kinds
    kwargs: dict = {"sample_by": text_unit} if kind == "text" else {}
    if any(p.suffix.lower() == ".tsv" for p in paths):
        kwargs["sep"] = "\t"
    files = [str(p) for p in paths]
    ds = parse_files(kind, files, f"could not read {', '.join(files)} as {kind}", **kwargs)
    if kind != "text":
        if text_column not in ds.column_names:
            raise UserError(
                f"{', '.join(files)} has no column `{text_column}` (columns: {', '.join(ds.column_names)}); "
                f"set data.text_column to the one that holds the text"
            )
        ds = ds.select_columns([text_column]).rename_column(text_column, "text") if text_column != "text" else ds
        ds = ds.select_columns(["text"])
    return ds


def _load_hub(name: str, text_column: str):
    ds = load_dataset_or_explain(name, split="train", what=f"could not load hub dataset `{name}`",
                                 fix="this machine may be offline: use local files or an embedded corpus instead")
    if text_column not in ds.column_names:
        raise UserError(f"hub dataset `{name}` has no column `{text_column}` (columns: {', '.join(ds.column_names)})")
    return ds.select_columns([text_column]).rename_column(text_column, "text") if text_column != "text" else ds


# ---------------------------------------------------------------------------------------------- entry


def _as_list(source) -> list[str]:
    return [source] if isinstance(source, (str, Path)) else list(source)


def describe(source) -> str:
    return ", ".join(map(str, _as_list(source)))


def load_text_dataset(
    source: str | Path | Sequence[str | Path],
    validation_fraction: float = 0.05,
    seed: int = 0,
    limit: int | None = None,
    text_column: str = "text",
    text_unit: str = "line",
):
    """Load ``source`` (a corpus name, files, or ``hub:<id>``) as a DatasetDict with train and validation.

    ``limit`` keeps the first N examples (before the split); ``text_unit`` (``line``, ``paragraph``,
    ``document``) says what one example of a ``.txt`` file is.
    """
    import datasets

    if not 0 < validation_fraction < 1:
        raise UserError(f"data.validation_fraction must be in (0, 1), got {validation_fraction}")
    items = _as_list(source)
    if not items:
        raise UserError("no corpus given; set data.corpus to one of " + ", ".join(CORPORA) + " or to file paths")
    if len(items) == 1 and str(items[0]) in CORPORA:
        texts = _take(CORPORA[str(items[0])].read(), limit)
        ds = datasets.Dataset.from_dict({"text": texts})
    elif len(items) == 1 and str(items[0]).startswith("hub:"):
        ds = _load_hub(str(items[0])[4:], text_column)
    else:
        unknown = [p for p in items if not Path(p).exists() and Path(p).suffix.lower() not in _BUILDERS]
        if unknown:
            raise UserError(
                f"unknown corpus `{unknown[0]}`: not an embedded corpus ({', '.join(CORPORA)}), not an existing "
                "file, not `hub:<dataset id>`"
            )
        ds = _load_files(items, text_column, text_unit)
    if limit is not None and len(ds) > limit:
        ds = ds.select(range(limit))
    ds = ds.filter(lambda batch: [bool(t and t.strip()) for t in batch["text"]], batched=True)
    if len(ds) == 0:
        raise UserError(f"corpus {describe(source)} is empty (no non-blank text); point data.corpus at text")
    if len(ds) < 2:
        raise UserError(
            f"corpus {describe(source)} has a single example; a train and a validation split need at least two "
            "(split the text into lines or paragraphs, or add text)"
        )
    split = ds.train_test_split(test_size=validation_fraction, seed=seed, shuffle=True)
    return datasets.DatasetDict({"train": split["train"], "validation": split["test"]})


def _take(texts: Iterable[str], limit: int | None) -> list[str]:
    out = []
    for text in texts:
        if text and text.strip():
            out.append(text)
            if limit is not None and len(out) >= limit:
                break
    return out


def stream_text_dataset(
    source: str | Path | Sequence[str | Path],
    validation_examples: int = 1000,
    text_column: str = "text",
    text_unit: str = "line",
):
    """Like :func:`load_text_dataset` for corpora that do not fit in memory.

    Returns (train ``IterableDataset``, validation ``Dataset``): the first ``validation_examples``
    non-blank texts are held out in memory, the rest stream (read again on every epoch).
    """
    import datasets

    items = _as_list(source)
    if len(items) == 1 and str(items[0]) in CORPORA:
        corpus = CORPORA[str(items[0])]
        next(iter(corpus.read()), None)  # fail now, with the package name, if the corpus is missing
        stream = datasets.IterableDataset.from_generator(_corpus_rows, gen_kwargs={"name": corpus.name})
    elif len(items) == 1 and str(items[0]).startswith("hub:"):
        try:
            stream = datasets.load_dataset(str(items[0])[4:], split="train", streaming=True)
        except Exception as err:
            raise UserError(f"could not stream hub dataset `{str(items[0])[4:]}` ({err}); use local files") from None
    else:
        paths = [Path(p) for p in items]
        for path in paths:
            if not path.is_file():
                raise UserError(f"corpus file {path} does not exist; name an existing file or one of {', '.join(CORPORA)}")
            check_utf8(path)
        kind = _BUILDERS.get(paths[0].suffix.lower())
        if kind is None:
            raise UserError(f"corpus file {paths[0]}: unknown extension `{paths[0].suffix}`; use one of {', '.join(_BUILDERS)}")
        kwargs: dict = {"sample_by": text_unit} if kind == "text" else {}
        stream = datasets.load_dataset(kind, data_files=[str(p) for p in paths], split="train", streaming=True, **kwargs)
    if text_column != "text":
        stream = stream.rename_column(text_column, "text")
    stream = stream.select_columns(["text"]).filter(lambda row: bool(row["text"] and row["text"].strip()))
    validation = datasets.Dataset.from_list(list(stream.take(validation_examples)))
    if len(validation) == 0:
        raise UserError(f"corpus {describe(source)} is empty (no non-blank text); point data.corpus at text")
    return stream.skip(validation_examples), validation


def _corpus_rows(name: str):
    for text in CORPORA[name].read():
        yield {"text": text}
