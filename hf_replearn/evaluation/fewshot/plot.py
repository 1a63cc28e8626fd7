"""Accuracy against the number of demonstrations k, mean +- std over seeds."""

from __future__ import annotations

from pathlib import Path


def plot_accuracy_vs_k(results: dict, path: str | Path, title: str = "", chance: float | None = None) -> Path:
    """``results`` is :func:`evaluate_grid`'s output; one line per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [int(key.split("=")[1]) for key in results]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for metric in next(iter(results.values())):
        means = [results[f"k={k}"][metric]["mean"] for k in ks]
        stds = [results[f"k={k}"][metric]["std"] for k in ks]
        ax.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=metric)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("demonstrations k")
    ax.set_ylabel("score (mean ± std over seeds)")
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
