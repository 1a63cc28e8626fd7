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

import numpy as np

from hf_replearn.errors import UserError
from hf_replearn.evaluation.probe import ProbeConfig, baseline_features, model_features, probe_features


def load_models(model_dirs: list[str], trust_remote_code: bool = False) -> dict[str, object]:
    """{name: model} for training output directories; names are the directory names (made unique)."""
    import hf_replearn.models  # noqa: F401
    from transformers import AutoModel

    models = {}
    for path in map(Path, model_dirs):
        if not (path / "config.json").is_file():
            raise UserError(f"--model {path}: no config.json there; pass the output_dir of a training run")
        model = AutoModel.from_pretrained(path, trust_remote_code=trust_remote_code)
        if not hasattr(model, "get_representation"):
            raise UserError(f"--model {path}: a {type(model).__name__} has no get_representation(); probe an image model")
        name = path.name
        while name in models:
            name += "'"
        models[name] = model
    return models


def compare_representations(models: dict, dataset, cfg: ProbeConfig, output_dir, random_init: bool = True) -> dict:
    """Probe every model in ``models`` and every baseline in ``cfg.baselines`` on ``dataset``; write the files."""
    from threadpoolctl import threadpool_limits

    cfg.validate()
    if not cfg.label_fractions:
        cfg.label_fractions = [0.01, 0.1, 1.0]
    train, test = dataset["train"], dataset["test"]
    train_px, test_px = np.asarray(train["pixel_values"]), np.asarray(test["pixel_values"])
    train_y, test_y = np.asarray(train["label"]), np.asarray(test["label"])
    for name, model in models.items():
        if train_px.shape[1] != model.config.num_channels:
            raise UserError(f"model {name} takes {model.config.num_channels}-channel images; the dataset has {train_px.shape[1]}")
    features = {name: model_features(m, train_px, test_px, cfg) for name, m in models.items()}
    raw = (train_px.reshape(len(train_px), -1) / 255.0, test_px.reshape(len(test_px), -1) / 255.0)
    for name in cfg.baselines:
        if name == "random_init":
            if random_init and models:  # the first model's architecture, fresh weights
                first = next(iter(models.values()))
                fresh = type(first)(first.config).to(first.device)
                features[name] = model_features(fresh, train_px, test_px, cfg)
        else:
            features[name] = baseline_features(name, *raw, cfg)
    table = {}
    with threadpool_limits(1):
        for name, (tr, te) in features.items():
            flat = probe_features(name, tr, train_y, te, test_y, cfg)
            table[name] = {key.replace(f"/{name}", "", 1): value for key, value in flat.items()}
    write_comparison(table, cfg.label_fractions, Path(output_dir))
    return table


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
    """What ``hf-replearn eval probe --model A --model B ...`` runs: load, probe, write; returns the table."""
    from hf_replearn.data.images import ImageDataConfig, load_image_dataset
    from hf_replearn.utils.files import prepare_output_dir

    models = load_models(model_dirs, trust_remote_code)
    sizes = {m.config.image_size for m in models.values()}
    if image_size is None and len(sizes) > 1:
        raise UserError(f"the models take different image sizes {sorted(sizes)}; pass --image-size to pick one")
    data_cfg = ImageDataConfig(name=dataset_name, image_size=image_size or (sizes.pop() if sizes else None))
    dataset = load_image_dataset(data_cfg, dataset_limit)
    out = prepare_output_dir(Path(output_dir), overwrite=overwrite,
                             syntax=("--output-dir <a new directory>", "--overwrite", None))
    cfg = ProbeConfig(labels_per_class=list(labels_per_class), seeds=seeds, baselines=list(baselines),
                      label_fractions=list(label_fractions), tsne=False, feature_stages=list(feature_stages),
                      feature_grid=feature_grid)  # fmt: skip
    return compare_representations(models, dataset, cfg, out)
