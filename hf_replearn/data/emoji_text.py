"""Emoji image-text pairs for contrastive (CLIP-style) learning, all from Debian packages.

- ``emoji-test.txt`` (``apt-get install unicode-data``): every fully-qualified emoji with its name, group
  and subgroup, in lines ``CODEPOINTS ; fully-qualified # EMOJI Ex.y NAME`` under ``# group:`` and
  ``# subgroup:`` headers. The "Component" group (skin-tone swatches, hair styles) is left out.
- ``annotations/en.xml`` (``apt-get install unicode-cldr-core``): English keywords per emoji,
  ``<annotation cp="EMOJI">kw1 | kw2</annotation>`` (``type="tts"`` lines hold the short name, skipped).
  It lists emoji without the variation selector U+FE0F and without skin tones, so lookups strip both.

Images come from the colour emoji renderer of ``data/emoji.py``. Texts: the name, and the caption
"an emoji of NAME: kw1, kw2, ..."; in training a random subset of the keywords in random order, so the
text tower sees each emoji under several texts.

The held-out split is by *base emoji* (skin tones removed), seeded: evaluation emoji, and their
skin-tone variants, are never seen in training. Skin-tone variants are left out by default
(``skin_tones``): they repeat 363 People & Body emoji five times each in another colour, which makes that
group 59% of all emoji instead of 19%.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hf_replearn.data.emoji import EMOJI_TEST
from hf_replearn.data.paths import system_path
from hf_replearn.errors import UserError

ANNOTATIONS = system_path("/usr/share/unicode/cldr/common/annotations/en.xml")
SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))  # Fitzpatrick modifiers U+1F3FB..U+1F3FF
VS16 = "\ufe0f"  # emoji presentation selector


@dataclass(frozen=True)
class EmojiText:
    emoji: str
    name: str
    group: str
    subgroup: str
    keywords: tuple[str, ...]

    @property
    def base(self) -> str:
        """The emoji without skin tones or the presentation selector: variants of one emoji share it."""
        return "".join(c for c in self.emoji if c not in SKIN_TONES and c != VS16)

    def caption(self, keywords=None, categories: bool = False) -> str:
        """ "an emoji of NAME: kw1, kw2" (all keywords unless given), or "an emoji of NAME" without any;
        ``categories``: "an emoji of NAME, GROUP, SUBGROUP: ..."."""
        keywords = self.keywords if keywords is None else keywords
        name = f"{self.name}, {self.categories}" if categories else self.name
        return f"an emoji of {name}: {', '.join(keywords)}" if keywords else f"an emoji of {name}"

    @property
    def categories(self) -> str:
        """The group and subgroup in words: "animals and nature, animal mammal"."""
        return f"{class_words(self.group)}, {class_words(self.subgroup)}"


def class_words(class_name: str) -> str:
    """A Unicode group or subgroup name as words: "Animals & Nature" -> "animals and nature",
    "animal-mammal" -> "animal mammal"."""
    return class_name.lower().replace("-", " ").replace("&", "and")


def _require(path: Path, package: str) -> None:
    if not Path(path).is_file():
        raise UserError(f"the emoji text data needs {path}; install it with `apt-get install {package}`")


def parse_emoji_test(path: str | Path = EMOJI_TEST) -> list[tuple[str, str, str, str]]:
    """(emoji, name, group, subgroup) of every fully-qualified emoji outside the Component group."""
    _require(Path(path), "unicode-data")
    out, group, subgroup = [], None, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line and group != "Component":
            codepoints, comment = line.split(";", 1)[0], line.split("#", 1)[1]
            emoji = "".join(chr(int(c, 16)) for c in codepoints.split())
            _, _version, name = comment.strip().split(" ", 2)  # "😀 E1.0 grinning face"
            out.append((emoji, name.strip(), group, subgroup))
    if not out:
        raise UserError(f"{path} lists no fully-qualified emoji; reinstall it with `apt-get install --reinstall unicode-data`")
    return out


def parse_annotations(path: str | Path = ANNOTATIONS) -> dict[str, tuple[str, ...]]:
    """Emoji (without U+FE0F) -> its English keywords, in file order."""
    _require(Path(path), "unicode-cldr-core")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise UserError(f"{path} is not valid XML ({err}); reinstall it with `apt-get install --reinstall unicode-cldr-core`") from None
    return {
        node.get("cp").replace(VS16, ""): tuple(k.strip() for k in (node.text or "").split("|") if k.strip())
        for node in root.iter("annotation") if node.get("type") != "tts"
    }  # fmt: skip


def load_emoji_text(skin_tones: bool = False, emoji_test=EMOJI_TEST, annotations=ANNOTATIONS) -> list[EmojiText]:
    """Every emoji with its name, group, subgroup and keywords (a skin-tone variant takes its base's keywords)."""
    keywords = parse_annotations(annotations)
    out = []
    for emoji, name, group, subgroup in parse_emoji_test(emoji_test):
        entry = EmojiText(emoji, name, group, subgroup, ())
        if entry.base != emoji.replace(VS16, "") and not skin_tones:
            continue
        found = keywords.get(emoji.replace(VS16, "")) or keywords.get(entry.base, ())
        out.append(EmojiText(emoji, name, group, subgroup, found))
    return out


def held_out_split(entries: list[EmojiText], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices into ``entries``: a seeded ``fraction`` of the base emoji and all their variants."""
    bases = sorted({e.base for e in entries})
    rng = np.random.default_rng(seed)
    held = set(np.asarray(bases)[rng.permutation(len(bases))[: max(1, round(fraction * len(bases)))]])
    is_held = np.array([e.base in held for e in entries])
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def render_entries(entries: list[EmojiText], size: int) -> np.ndarray:
    """uint8 (N, 3, size, size) images of ``entries``, drawn by the colour emoji renderer."""
    from hf_replearn.data.emoji import emoji_list, render_emoji

    images, _, _ = render_emoji(size)
    index = {emoji: i for i, (emoji, _) in enumerate(emoji_list())}
    return images[[index[e.emoji] for e in entries]]


def training_texts(entries: list[EmojiText], categories: bool = False) -> list[str]:
    """Every text a tokenizer should know: names, full captions and each keyword (and the group and subgroup
    words when training captions name them)."""
    return [t for e in entries for t in (e.name, e.caption(categories=categories), *e.keywords)]


class EmojiTextCollator:
    """Rows ``{"pixel_values": uint8 (3, H, W), "index": i}`` -> a batch of images in [0, 1] and one
    tokenized text per image: the name, or a caption with a random subset (at most ``max_keywords``) of
    its keywords in random order.

    :meth:`text` draws from one generator seeded by ``seed`` that runs on from call to call. A batch
    (``__call__``) draws its texts from a generator seeded afresh by ``seed`` and the batch's indices: the
    dataloader collates a batch ahead of the step that trains on it and no checkpoint holds a running
    generator, so only then does a run resumed from a checkpoint see exactly the texts of an uninterrupted one."""

    def __init__(self, entries: list[EmojiText], tokenizer, max_length: int, max_keywords: int, seed: int = 0,
                 category_captions: float = 0.0):  # fmt: skip
        self.entries, self.tokenizer, self.max_length = entries, tokenizer, max_length
        self.max_keywords, self.seed, self.rng = max_keywords, seed, np.random.default_rng(seed)
        self.category_captions = category_captions

    def text(self, entry: EmojiText, rng: np.random.Generator | None = None) -> str:
        rng = self.rng if rng is None else rng
        keywords = list(entry.keywords)
        # drawn only when asked for, so that captions without categories stay those of earlier runs
        categories = bool(self.category_captions) and rng.random() < self.category_captions
        if rng.random() < 0.2 or not keywords:
            return entry.name if rng.random() < 0.5 and not categories else entry.caption((), categories)
        k = int(rng.integers(1, min(self.max_keywords, len(keywords)) + 1))
        return entry.caption([keywords[i] for i in rng.permutation(len(keywords))[:k]], categories)

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        pixels = torch.from_numpy(np.stack([np.asarray(r["pixel_values"]) for r in rows])).float().div_(255)
        rng = np.random.default_rng([self.seed, *(int(r["index"]) for r in rows)])
        texts = [self.text(self.entries[int(r["index"])], rng) for r in rows]
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"pixel_values": pixels, "input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
