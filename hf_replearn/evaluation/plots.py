"""Pictures of representations: t-SNE of features coloured by class; grids of images (traversals)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


TSNE_MIN_POINTS = 5
"""Fewer test points than this draw no t-SNE (its perplexity, (N - 1) / 3, would be under 1): nothing is written."""


def tsne_plot(features: np.ndarray, labels: np.ndarray, path, class_names=None, max_points: int = 2000, seed: int = 0):
    """2-D t-SNE (van der Maaten & Hinton 2008) of ``features`` (N, D), saved as a PNG at ``path``; None, with a
    line saying so, for fewer than ``TSNE_MIN_POINTS`` points."""
    if len(features) < TSNE_MIN_POINTS:
        print(f"t-SNE: {len(features)} test point(s), fewer than {TSNE_MIN_POINTS}; no picture", flush=True)
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(features), size=min(max_points, len(features)), replace=False)
    x, y = features[idx], labels[idx]
    if min(x.shape) > 50:  # the usual PCA-to-50 step before t-SNE: faster, less noise (with more than 50 points)
        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # OpenMP threads spin on a busy machine: 34 s vs 6 s measured for 450 points
        tsne = TSNE(n_components=2, init="pca", perplexity=min(30.0, (len(x) - 1) / 3), random_state=seed)
        emb = tsne.fit_transform(x)
    fig, ax = plt.subplots(figsize=(6, 6))
    for cls in np.unique(y):
        m = y == cls
        ax.scatter(emb[m, 0], emb[m, 1], s=4, label=class_names[cls] if class_names else str(cls))
    ax.legend(markerscale=3, fontsize=7, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("t-SNE of test features")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def image_grid(images: np.ndarray, path, row_labels=None, title: str | None = None, scale: float = 0.6):
    """Save a grid of images (R, K, C, H, W) in [0, 1] as a PNG: one row per R, K images per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    rows, cols = images.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale + 0.8, rows * scale + 0.4), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            img = images[r, c].transpose(1, 2, 0)
            axes[r, c].imshow(img[..., 0] if img.shape[-1] == 1 else img.clip(0, 1), cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        if row_labels is not None:
            axes[r, 0].set_ylabel(str(row_labels[r]), rotation=0, ha="right", va="center", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
