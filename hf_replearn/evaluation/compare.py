"""``hf-replearn eval probe`` over several models and baselines at once: one table, one plot.

Every model and baseline gets the same probes (see ``probe.py``): linear probe and k-NN at each label
fraction (1%, 10%, 100% by default), and k-means NMI. Written to ``output_dir``:

- ``comparison.json``: {feature set: {metric: value}};
- ``comparison.md``: a Markdown table, one row per feature set;
- ``accuracy_vs_labels.png``: linear-probe accuracy against the label fraction, one line per feature set.
"""

from __future__ import annotations

import json
from pathlib import Path

from hf_replearn.evaluation.probe import ProbeConfig


def comparison_markdown(table: dict, fractions: list[float]) -> str:
    keys = [f"{f * 100:g}pct" for f in fractions]
    header = ["features"] + [f"linear {k.replace('pct', '%')}" for k in keys] + [f"k-NN {k.replace('pct', '%')}" for k in keys]
    header.append("k-means NMI")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table.items():
        cells = [row.get(f"linear_probe/{k}") for k in keys] + [row.get(f"knn/{k}") for k in keys] + [row.get("kmeans_nmi")]
        lines.append(f"| {name} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def write_comparison(table: dict, fractions: list[float], output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hf_replearn.utils.files import atomic_write_text

    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output_dir / "comparison.json", json.dumps(table, indent=2, sort_keys=True) + "\n")
    atomic_write_text(output_dir / "comparison.md", comparison_markdown(table, fractions) + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, row in table.items():
        ax.plot([f * 100 for f in fractions], [row[f"linear_probe/{f * 100:g}pct"] for f in fractions], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("labels used (% of the training set)")
    ax.set_ylabel("linear probe test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(output_dir / "accuracy_vs_labels.png", dpi=120)
    plt.close(fig)


def probe_many(model_dirs: list[str], dataset_name: str, output_dir, baselines=("raw", "pca", "random_init"),
               label_fractions=(0.01, 0.1, 1.0), dataset_limit: int | None = None, image_size: int | None = None,
               labels_per_class=(), seeds: int = 1, trust_remote_code: bool = False, overwrite: bool = False,
               feature_stages=(-1,), feature_grid: int = 1) -> dict:
    """Several models through ``probe_runner.run_probe``, rows named after their directories; also writes the
    comparison files above. Returns {feature set: {metric: value}}."""
    from hf_replearn.evaluation.probe_runner import ProbeRequest, run_probe

    cfg = ProbeConfig(labels_per_class=list(labels_per_class), seeds=seeds, label_fractions=list(label_fractions),
                      tsne=False, feature_stages=list(feature_stages), feature_grid=feature_grid)  # fmt: skip
    request = ProbeRequest(models=list(model_dirs), dataset=dataset_name, output_dir=str(output_dir), overwrite=overwrite,
                           baselines=list(baselines), probe=cfg, dataset_limit=dataset_limit, image_size=image_size,
                           trust_remote_code=trust_remote_code, model_names=[Path(d).name for d in model_dirs])  # fmt: skip
    results, _, out = run_probe(request)
    table = {}
    for key, value in results.items():
        parts = key.split("/")
        if len(parts) >= 2 and not key.startswith("eval/") and "_std" not in parts[0]:
            table.setdefault(parts[1], {})["/".join([parts[0], *parts[2:]])] = value
    write_comparison(table, cfg.label_fractions, out)
    return table
