"""Read WordNet 3.0's ``data.{noun,verb,adj,adv}`` files (Debian ``wordnet-base``) in place.

A data line is ``offset lex_filenum ss_type w_cnt (word lex_id){w_cnt} p_cnt ... | gloss``, ``w_cnt`` in
hex; the gloss is a definition followed by ``; "usage example"`` items. ``lex_filenum`` indexes the 45
lexicographer files (Miller, "WordNet: A Lexical Database for English", CACM 1995), listed below in
WordNet's own order (``lexnames(5WN)``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hf_replearn.data.paths import system_path
from hf_replearn.errors import UserError

WORDNET_DIR = system_path("/usr/share/wordnet")
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive "
    "noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity "
    "noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change verb.cognition "
    "verb.communication verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_EXAMPLE = re.compile(r'"([^"]+)"')


@dataclasses.dataclass
class Synset:
    offset: str
    pos: str
    lexname: str
    words: list[str]
    definition: str
    examples: list[str]


def parse_line(line: str, pos: str) -> Synset | None:
    if line.startswith("  ") or "|" not in line:  # licence header
        return None
    head, _, gloss = line.partition("|")
    fields = head.split()
    w_cnt = int(fields[3], 16)
    words = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ") for i in range(w_cnt)]
    definition = gloss.split(";")[0].strip().strip('"').strip()
    examples = [e.strip() for e in _EXAMPLE.findall(gloss) if e.strip()]
    return Synset(fields[0] + pos, pos, LEXNAMES[int(fields[1])], words, definition, examples)


def read_synsets(wordnet_dir: Path = WORDNET_DIR) -> list[Synset]:
    if not (Path(wordnet_dir) / "data.noun").is_file():
        raise UserError(
            f"WordNet is not installed ({wordnet_dir}/data.noun missing); run `apt-get install wordnet-base`"
        )
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(Path(wordnet_dir) / f"data.{pos}", encoding="utf-8") as handle:
            out.extend(s for s in (parse_line(line, pos) for line in handle) if s is not None)
    return out
