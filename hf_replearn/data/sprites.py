"""A dSprites-like set rendered by the project: 2-D shapes with five known generative factors.

Matthey, Higgins, Hassabis, Lerchner, "dSprites: Disentanglement testing Sprites dataset", 2017: white
shapes on black, factors shape (square, ellipse, heart), scale (6), orientation (40), x (32), y (32).
This version draws a square, an ellipse and a triangle with Pillow at 4x resolution and downsamples
(antialiasing), with factors on a smaller grid so that CPU runs stay short:

    shape 3, scale 6 (0.5 .. 1.0), rotation 10 (0 .. 2 pi), x 8, y 8  -> 11,520 combinations.

Each example samples every factor uniformly (seeded), so ``factors`` (N, 5) of integer levels is known
for every image: what disentanglement metrics (``evaluation/disentanglement.py``) need. The class label
used by the probes is the shape.
"""

from __future__ import annotations

import functools

import numpy as np

SHAPES = ["square", "ellipse", "triangle"]
FACTOR_NAMES = ["shape", "scale", "rotation", "x", "y"]
FACTOR_SIZES = [3, 6, 10, 8, 8]
SPLIT_SIZES = {"train": 12000, "test": 2000}
SPLIT_SEEDS = {"train": 0, "test": 1}


def _outline(shape: int, n: int = 24) -> np.ndarray:
    """Vertices of a unit-sized shape centred at the origin, (V, 2)."""
    if SHAPES[shape] == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * 0.8
    if SHAPES[shape] == "ellipse":
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.stack([np.cos(t), 0.6 * np.sin(t)], axis=1)
    t = np.pi / 2 + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def render_sprite(factors, size: int = 32, supersample: int = 4) -> np.ndarray:
    """One uint8 (size, size) image for integer factor levels (shape, scale, rotation, x, y)."""
    from PIL import Image, ImageDraw

    shape, scale, rotation, x, y = (int(f) for f in factors)
    big = size * supersample
    radius = big * 0.22 * (0.5 + 0.5 * scale / (FACTOR_SIZES[1] - 1))
    angle = 2 * np.pi * rotation / FACTOR_SIZES[2]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    margin = big * 0.25  # keeps the largest shape inside the frame at every position
    cx = margin + (big - 2 * margin) * x / (FACTOR_SIZES[3] - 1)
    cy = margin + (big - 2 * margin) * y / (FACTOR_SIZES[4] - 1)
    points = _outline(shape) @ rot.T * radius + [cx, cy]
    image = Image.new("L", (big, big), 0)
    ImageDraw.Draw(image).polygon([tuple(p) for p in points], fill=255)
    return np.asarray(image.resize((size, size), Image.BOX))


def sample_factors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, n) for k in FACTOR_SIZES], axis=1)


@functools.lru_cache(maxsize=4)
def sprites_split(split: str, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 1, size, size), factors int (N, 5)) of the ``train`` or ``test`` split."""
    factors = sample_factors(SPLIT_SIZES[split], SPLIT_SEEDS[split])
    images = np.stack([render_sprite(f, size) for f in factors])[:, None]
    return images, factors
