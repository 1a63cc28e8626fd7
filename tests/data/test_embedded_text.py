"""Parsers of the embedded corpora on hand-made snippets in each tool's format, and the real files."""

import pytest

from hf_replearn.data.embedded_qa import build_wordnet_qa
from hf_replearn.data.embedded_text import POLARITY_CSV, parse_kjv, parse_web, read_polarity
from hf_replearn.data.wordnet import Synset, parse_line

KJV = """
I Kings 1

  1 Now king David was old and stricken in years; and they covered him with
clothes, but he gat no heat.
  2 Wherefore his servants said unto him,

Revelation 22

  21 The grace of our Lord Jesus Christ be with you all. Amen.
"""
WEB = """I Kings 1:1: Now King David was old and advanced in years.
I Kings 1:2: Therefore his servants said to him,
“Let a young virgin be sought.” <title canonical="true" type="psalm">A praise psalm by David.</title> <l/>
Revelation of John 22:21: The grace of the Lord Jesus Christ be with all the saints. Amen.
"""


def test_bible_parsers_align_verses():
    kjv, web = parse_kjv(KJV.replace("I Kings", "1 Kings")), parse_web(WEB)
    assert kjv[("I Kings", 1, 1)] == (
        "Now king David was old and stricken in years; and they covered him with clothes, but he gat no heat."
    )
    assert web[("I Kings", 1, 2)] == "Therefore his servants said to him, “Let a young virgin be sought.”"
    assert set(kjv) == set(web) == {("I Kings", 1, 1), ("I Kings", 1, 2), ("Revelation", 22, 21)}


def test_wordnet_line_and_qa_items():
    line = ('00022686 29 v 02 stimulate 0 perk_up 1 000 | cause to be alert and energetic; '
            '"Coffee and tea stimulate me"; "This doesn\'t stimulate"  \n')  # fmt: skip
    s = parse_line(line, "verb")
    assert (s.lexname, s.words, s.definition) == ("verb.body", ["stimulate", "perk up"], "cause to be alert and energetic")
    assert s.examples == ["Coffee and tea stimulate me", "This doesn't stimulate"]
    other = Synset("2n", "noun", "noun.food", ["tea"], "a beverage", ["she drank tea", "green leaves"])
    items = build_wordnet_qa(extra_sentences=1, synsets=[s, other], seed=0)
    for item in items:
        (text,), (start,) = item["answers"]["text"], item["answers"]["answer_start"]
        assert item["context"][start : start + len(text)] == text
    assert items[0]["question"] == "Which word means cause to be alert and energetic?"
    assert items[0]["answers"]["text"] == ["stimulate"]
    unanswerable = build_wordnet_qa(extra_sentences=1, unanswerable_fraction=1.0, synsets=[s, other], seed=0)
    assert all(item["answers"]["text"] == [] for item in unanswerable)
    assert "stimulate" not in unanswerable[0]["context"].lower()


@pytest.mark.skipif(not POLARITY_CSV.is_file(), reason="apt-get install python3-pattern")
def test_polarity_corpus_is_balanced():
    rows = read_polarity()
    assert len(rows) == 4000 and sum(r["label"] for r in rows) == 2000
