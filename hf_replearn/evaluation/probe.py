"""Linear and k-NN probes on frozen features, with few labels and with all of them.

The headline of representation learning: with a handful of labels per class a linear classifier on
raw inputs learns little, on good features a lot. For each feature set (the trained model, raw
pixels, PCA of the pixels, a randomly initialised encoder of the same architecture):

- ``linear_probe/<features>/<k>_per_class``: logistic regression (scikit-learn) trained on k labelled
  examples per class (balanced, seeded subsets; mean over ``seeds`` subsets, std under
  ``linear_probe_std/...``), tested on the whole test split;
- ``linear_probe/<features>/all``: the same with every training label;
- ``knn/<features>``: k-nearest-neighbour accuracy (cosine) with every training label.

Features are standardised with statistics of the whole (unlabelled) training split, which a
semi-supervised user has, so the few-label probes do not estimate scale from k examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hf_replearn.errors import UserError


@dataclass
class ProbeConfig:
    """How the representation is evaluated at the end of a recipe and by ``hf-replearn eval probe``."""

    labels_per_class: list[int] = field(default_factory=lambda: [1, 10, 100])
    """Label budgets (examples per class) for the few-label linear probes."""
    all_labels: bool = True
    """Also probe with every training label."""
    seeds: int = 3
    """Seeded subsets averaged for each few-label budget."""
    knn_k: int = 20
    baselines: list[str] = field(default_factory=lambda: ["raw", "pca", "random_init"])
    """Feature sets compared with the model: ``raw``, ``pca``, ``random_init``."""
    pca_components: int = 64
    max_iter: int = 1000
    """Iterations of the logistic regression solver."""
    tsne: bool = True
    """Draw a t-SNE picture of the test features coloured by class."""
    tsne_points: int = 2000
    batch_size: int = 512

    def validate(self) -> None:
        if any(k < 1 for k in self.labels_per_class):
            raise UserError(f"evaluation.labels_per_class must be positive, got {self.labels_per_class}")
        if self.seeds < 1:
            raise UserError(f"evaluation.seeds must be at least 1, got {self.seeds}")
        unknown = set(self.baselines) - {"raw", "pca", "random_init"}
        if unknown:
            raise UserError(f"evaluation.baselines: unknown {sorted(unknown)}; choose from raw, pca, random_init")


@torch.no_grad()
def extract_features(model, pixel_values: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Frozen representations h = f(x) of uint8 images (N, C, H, W) -> float32 (N, D)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(pixel_values), batch_size):
        x = torch.from_numpy(np.asarray(pixel_values[start : start + batch_size])).to(device).float().div_(255)
        out.append(model.get_representation(x).float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy()


def balanced_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` examples of each class (fewer if a class has fewer), seeded."""
    rng = np.random.default_rng(seed)
    picks = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        picks.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    return np.sort(np.concatenate(picks))


def linear_probe_accuracy(train_x, train_y, test_x, test_y, max_iter: int = 1000) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=max_iter)
    clf.fit(train_x, train_y)
    return float((clf.predict(test_x) == test_y).mean())


def knn_accuracy(train_x, train_y, test_x, test_y, k: int) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=min(k, len(train_x)), metric="cosine")
    clf.fit(train_x, train_y)
    return float((clf.predict(test_x) == test_y).mean())


def probe_features(name: str, train_x, train_y, test_x, test_y, cfg: ProbeConfig) -> dict[str, float]:
    """Every probe of one feature set; keys as in the module docstring."""
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    # One BLAS/OpenMP thread: these problems are small, and on a busy machine multi-threaded BLAS
    # spin-waits (measured here: logistic regression 4.4 s with 2 threads under load, 0.19 s with 1).
    with threadpool_limits(1):
        return _probe_features(name, train_x, train_y, test_x, test_y, cfg)


def _probe_features(name, train_x, train_y, test_x, test_y, cfg) -> dict[str, float]:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    tr, te = scaler.transform(train_x), scaler.transform(test_x)
    results = {}
    for k in cfg.labels_per_class:
        accs = []
        for seed in range(cfg.seeds):
            idx = balanced_subset(train_y, k, seed)
            accs.append(linear_probe_accuracy(tr[idx], train_y[idx], te, test_y, cfg.max_iter))
        results[f"linear_probe/{name}/{k}_per_class"] = float(np.mean(accs))
        results[f"linear_probe_std/{name}/{k}_per_class"] = float(np.std(accs))
    if cfg.all_labels:
        results[f"linear_probe/{name}/all"] = linear_probe_accuracy(tr, train_y, te, test_y, cfg.max_iter)
    results[f"knn/{name}"] = knn_accuracy(train_x, train_y, test_x, test_y, cfg.knn_k)
    return results


def evaluate_representations(model, dataset, cfg: ProbeConfig, random_init_model=None, plot_path=None):
    """Probe ``model`` and the baselines on ``dataset`` (DatasetDict with train/test ``pixel_values``, ``label``).

    Returns (results, features) where features maps each feature set to its (train, test) arrays.
    """
    from sklearn.decomposition import PCA

    cfg.validate()
    from hf_replearn.data.images import split_arrays

    train, test = dataset["train"], dataset["test"]
    (train_px, train_y), (test_px, test_y) = split_arrays(train), split_arrays(test)
    features = {"model": (extract_features(model, train_px, cfg.batch_size), extract_features(model, test_px, cfg.batch_size))}
    raw = (train_px.reshape(len(train_px), -1) / 255.0, test_px.reshape(len(test_px), -1) / 255.0)
    if "raw" in cfg.baselines:
        features["raw"] = raw
    if "pca" in cfg.baselines:
        pca = PCA(n_components=min(cfg.pca_components, *raw[0].shape), random_state=0).fit(raw[0])
        features["pca"] = (pca.transform(raw[0]), pca.transform(raw[1]))
    if "random_init" in cfg.baselines and random_init_model is not None:
        features["random_init"] = (
            extract_features(random_init_model, train_px, cfg.batch_size),
            extract_features(random_init_model, test_px, cfg.batch_size),
        )
    results = {}
    for name, (tr, te) in features.items():
        results.update(probe_features(name, tr, train_y, te, test_y, cfg))
    if cfg.tsne and plot_path is not None:
        from hf_replearn.evaluation.plots import tsne_plot

        names = train.features["label"].names if hasattr(train.features["label"], "names") else None
        tsne_plot(features["model"][1], test_y, plot_path, class_names=names, max_points=cfg.tsne_points)
    return results, features


def probe_table(results: dict[str, float]) -> str:
    """Markdown table: one row per feature set, one column per label budget, then k-NN."""
    rows, budgets = {}, []
    for key, value in results.items():
        parts = key.split("/")
        if parts[0] == "linear_probe" and len(parts) == 3:
            rows.setdefault(parts[1], {})[parts[2]] = value
            if parts[2] not in budgets:
                budgets.append(parts[2])
        elif parts[0] == "knn" and len(parts) == 2:
            rows.setdefault(parts[1], {})["knn"] = value
    budgets.sort(key=lambda b: (b == "all", int(b.split("_")[0]) if b[0].isdigit() else 0))
    columns = budgets + ["knn"]
    header = "| features | " + " | ".join(c.replace("_per_class", "/class") + (" labels" if c == "all" else "") if c != "knn" else "k-NN (all)" for c in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for name, row in rows.items():
        cells = []
        for c in columns:
            value = row.get(c)
            std = results.get(f"linear_probe_std/{name}/{c}")
            cells.append("-" if value is None else f"{value:.3f}" + (f" ± {std:.3f}" if std else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
