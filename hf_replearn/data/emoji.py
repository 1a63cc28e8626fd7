"""Colour emoji rendered from the Noto Color Emoji font: the only colour images available offline.

``apt-get install fonts-noto-color-emoji unicode-data`` installs the font and ``emoji-test.txt``, which
lists every emoji with its group (Smileys & Emotion, Animals & Nature, ...). Each fully-qualified emoji
is drawn with Pillow at the font's bitmap size (109 px), on a white background, and resized to
``size`` x ``size``; its label is the group (the "Component" group of skin-tone swatches is left out,
9 groups remain). Rendering about 3,600 emoji takes seconds and is cached per process.
"""

from __future__ import annotations

import functools

import numpy as np

from hf_replearn.data.paths import system_path
from hf_replearn.errors import UserError
from hf_replearn.utils.progress import stage

FONT = system_path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = system_path("/usr/share/unicode/emoji/emoji-test.txt")
INSTALL = "install them with `apt-get install fonts-noto-color-emoji unicode-data`"


def emoji_list() -> list[tuple[str, str]]:
    """(emoji, group) for every fully-qualified emoji in emoji-test.txt, Component group excluded."""
    if not FONT.is_file() or not EMOJI_TEST.is_file():
        raise UserError(f"the emoji dataset needs {FONT} and {EMOJI_TEST}; {INSTALL}")
    out, group = [], None
    for line in EMOJI_TEST.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line and group != "Component":
            codepoints = line.split(";")[0].split()
            out.append(("".join(chr(int(c, 16)) for c in codepoints), group))
    return out


@functools.lru_cache(maxsize=2)
def render_emoji(size: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images uint8 (N, 3, size, size), group labels (N,), group names)."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(FONT), 109)  # the only size the bitmap font offers
    items = emoji_list()
    groups = sorted({g for _, g in items})
    with stage("emoji", f"rendering {len(items)} emoji at {size}x{size}"):
        images = [_draw(text, font, size) for text, _ in items]
    labels = np.array([groups.index(g) for _, g in items])
    return np.stack(images), labels, groups


def _draw(text: str, font, size: int) -> np.ndarray:
    """One emoji, cropped to a square around its ink and resized: uint8 (3, size, size)."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(canvas).text((80, 80), text, font=font, embedded_color=True, anchor="mm")
    box = Image.eval(canvas.convert("L"), lambda v: 255 - v).getbbox() or (0, 0, 160, 160)
    return np.asarray(canvas.crop(_square(box, 160)).resize((size, size), Image.LANCZOS)).transpose(2, 0, 1)


def _square(box, limit):
    left, top, right, bottom = box
    side = max(right - left, bottom - top)
    cx, cy = (left + right) // 2, (top + bottom) // 2
    left, top = max(0, min(cx - side // 2, limit - side)), max(0, min(cy - side // 2, limit - side))
    return left, top, left + side, top + side
