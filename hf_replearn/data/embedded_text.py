"""Real text-classification tasks that install from Debian packages, in GLUE format (DATA.md).

- ``polarity`` (SST-2 style, single sentence, 2 classes): Pang & Lee's sentence polarity data, the
  source behind SST-2, as shipped by ``python3-pattern`` (4,000 movie-review snippets, balanced). Read in
  place: its README restricts it to research use, so it is never copied or redistributed.
- ``bible_paraphrase`` (MRPC style, sentence pairs, 2 classes): a King James verse (``bible-kjv``) with
  the same verse of the World English Bible (``sword-text-web`` + ``diatheke``) is a paraphrase; with the
  next verse of the same chapter it is not (a hard negative on the same topic). Both texts are public
  domain. Pairs alternate positive / negative, so the classes are balanced.
- ``wordnet_topic`` (single sentence, 45 classes): a WordNet definition labelled with its lexicographer
  file (noun.animal, verb.motion, ...), from ``wordnet-base``.

Splits are fixed (a seeded shuffle, 10 % validation) so that numbers compare across runs.
"""

from __future__ import annotations

import csv
import os
import random
import re
import subprocess
from pathlib import Path

from hf_replearn.data.glue_task import GlueTask
from hf_replearn.data.paths import system_path
from hf_replearn.data.wordnet import LEXNAMES, read_synsets
from hf_replearn.errors import UserError
from hf_replearn.utils.files import atomic_write_text

POLARITY_CSV = system_path("/usr/share/doc/python3-pattern/test/corpora/polarity-en-pang&lee2.csv")
SPLIT_SEED = 1234
VALIDATION_FRACTION = 0.1

EMBEDDED_TASKS = {
    "polarity": GlueTask("polarity", ("sentence",), ("negative", "positive"), "sst2",
                         description="Pang & Lee sentence polarity (python3-pattern)"),
    "bible_paraphrase": GlueTask("bible_paraphrase", ("sentence1", "sentence2"), ("not_equivalent", "equivalent"), "mrpc",
                                 description="KJV / WEB verse pairs (bible-kjv, sword-text-web)"),
    "wordnet_topic": GlueTask("wordnet_topic", ("sentence",), tuple(LEXNAMES), "mnli",  # mnli: multi-class accuracy
                              description="WordNet definitions by lexicographer file (wordnet-base)"),
}  # fmt: skip


def read_polarity(path: Path = POLARITY_CSV) -> list[dict]:
    if not path.is_file():
        raise UserError(f"{path} is missing; run `apt-get install --no-install-recommends python3-pattern`")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [{"sentence": text.strip(), "label": int(label == "1")} for label, text, *_ in csv.reader(handle)]


# ------------------------------------------------------------------------------------------ Bible pairs

_KJV_HEADER = re.compile(r"^(\S.*) (\d+)$")
_KJV_VERSE = re.compile(r"^\s+(\d+) (.*)$")
# diatheke's plain output: "Book C:V: text", possibly after stripped markup on the same line.
_WEB_VERSE = re.compile(r"(?:(?<=\s)|^)((?:I{1,3} |IV )?[A-Z][A-Za-z ()]*?) (\d+):(\d+): ")
_ROMAN = {"1": "I", "2": "II", "3": "III"}


def parse_kjv(text: str) -> dict[tuple[str, int, int], str]:
    """``bible`` output: blank line, ``Book C`` header, indented ``N text`` verses wrapped over lines."""
    verses, book, chapter, key, prev_blank = {}, None, 0, None, True
    for line in text.splitlines():
        header = _KJV_HEADER.match(line) if prev_blank else None
        prev_blank = not line.strip()
        if header:
            book, chapter, key = header.group(1), int(header.group(2)), None
            number = book.split()[0]
            if number in _ROMAN:  # "1 Samuel" -> "I Samuel", WEB's spelling
                book = _ROMAN[number] + book[len(number) :]
        elif (verse := _KJV_VERSE.match(line)) and book:
            key = (book, chapter, int(verse.group(1)))
            verses[key] = verse.group(2).strip()
        elif line.strip() and key:
            verses[key] += " " + line.strip()
    return verses


def parse_web(text: str) -> dict[tuple[str, int, int], str]:
    text = re.sub(r"<title[^>]*>.*?</title>", " ", text)  # psalm titles leak into the verse before
    text = re.sub(r"<[^>]+>", " ", text)
    marks = list(_WEB_VERSE.finditer(text))
    verses = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        body = text[m.end() : nxt.start() if nxt else len(text)]
        book = "Revelation" if m.group(1) == "Revelation of John" else m.group(1)
        verses[(book, int(m.group(2)), int(m.group(3)))] = " ".join(body.split())
    return verses


def _cache_dir() -> Path:
    return Path(os.environ.get("HF_REPLEARN_CACHE", Path.home() / ".cache" / "hf_replearn"))


def _run_cached(name: str, cmd: list[str], package: str) -> str:
    path = _cache_dir() / name
    if path.is_file():
        return path.read_text(encoding="utf-8")
    try:
        text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError) as err:
        raise UserError(f"`{' '.join(cmd)}` failed ({err}); run `apt-get install {package}`") from None
    # diatheke takes ~20 s for the whole Bible: extract once. Written atomically, so that another process
    # (accelerate launch, a second run) never reads a half-written file.
    atomic_write_text(path, text)
    return text


def read_bible_pairs(kjv_range: str = "gen1:1-rev22:21", web_range: str = "Genesis 1:1-Revelation of John 22:21"):
    kjv = parse_kjv(_run_cached(f"kjv-{kjv_range}.txt", ["bible", kjv_range], "bible-kjv"))
    web = parse_web(_run_cached(f"web-{web_range}.txt", ["diatheke", "-b", "engWEB2015eb", "-f", "plain", "-k", web_range],
                                "sword-text-web diatheke"))  # fmt: skip
    rows = []
    for i, (key, text) in enumerate(kjv.items()):
        book, chapter, verse = key
        if i % 2 == 0 and web.get(key):
            rows.append({"sentence1": text, "sentence2": web[key], "label": 1})
        elif web.get((book, chapter, verse + 1)):
            rows.append({"sentence1": text, "sentence2": web[(book, chapter, verse + 1)], "label": 0})
    return rows


def read_wordnet_topic() -> list[dict]:
    return [{"sentence": s.definition, "label": LEXNAMES.index(s.lexname)} for s in read_synsets() if s.definition]


_READERS = {"polarity": read_polarity, "bible_paraphrase": read_bible_pairs, "wordnet_topic": read_wordnet_topic}


def split_rows(rows: list[dict], seed: int = SPLIT_SEED):
    from datasets import Dataset, DatasetDict

    rows = list(rows)
    random.Random(seed).shuffle(rows)
    n_val = max(1, int(len(rows) * VALIDATION_FRACTION))
    return DatasetDict({"train": Dataset.from_list(rows[n_val:]), "validation": Dataset.from_list(rows[:n_val])})


def load_embedded(name: str, seed: int = 0):
    """``seed`` is accepted for symmetry; the split itself is fixed (``SPLIT_SEED``)."""
    return split_rows(_READERS[name]())
