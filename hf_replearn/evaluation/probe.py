"""Linear and k-NN probes on frozen features, with few labels and with all of them.

The headline of representation learning: with a handful of labels per class a linear classifier on
raw inputs learns little, on good features a lot. For each feature set (the trained model, raw
pixels, PCA of the pixels, a randomly initialised encoder of the same architecture):

- ``linear_probe/<features>/<k>_per_class``: logistic regression (scikit-learn) trained on k labelled
  examples per class (balanced, seeded subsets; mean over ``seeds`` subsets, std under
  ``linear_probe_std/...``), tested on the whole test split;
- ``linear_probe/<features>/all``: the same with every training label;
- ``linear_probe_cv/<features>/<k>_per_class`` (with ``cv_c``): the same subsets, C chosen by cross-validation on
  each subset itself (``probe_cv.py``), its geometric mean over seeds under ``linear_probe_cv_C/...``;
- ``knn/<features>``: k-nearest-neighbour accuracy (cosine) with every training label;
- ``linear_probe/<features>/<p>pct`` and ``knn/<features>/<p>pct``: both probes on a seeded, stratified
  p% of the training labels (``label_fractions``; 1%, 10%, 100% as in SimCLR's semi-supervised table);
- ``kmeans_nmi/<features>``: normalised mutual information between k-means clusters (k = classes) of
  the test features and the test labels: semantic clustering without any label.

Baselines (``baselines``), each fitted on the training pixels without labels: ``raw`` pixels, ``pca``,
``ica`` (FastICA, Hyvarinen & Oja 2000), ``dictionary`` (sparse coding over a learned dictionary, Mairal
et al. 2009; OMP codes), ``rbm`` (hidden unit probabilities of a Bernoulli RBM, Hinton 2006, trained with
persistent contrastive divergence), and ``random_init`` (the model's architecture with fresh weights).

What is probed: h = f(x) by default, the globally pooled output of the encoder (SimCLR's choice). With
``feature_stages`` / ``feature_grid`` the probe reads the small ResNet's feature maps instead: each named
stage average-pooled to a grid and flattened, then concatenated, as the linear probes of the pretext-task
papers read conv layers pooled to a fixed size (Zhang et al. 2016; Gidaris et al. 2018). A grid keeps where
things are, which global pooling throws away; on centred objects (Fashion-MNIST) that is worth 1.5 to 2
points with 10 labels per class. h is then probed as well, as the ``model_h`` row, so both stay visible.

Features are standardised with statistics of the whole (unlabelled) training split, which a
semi-supervised user has, so the few-label probes do not estimate scale from k examples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hf_replearn.errors import UserError
from hf_replearn.evaluation.image_features import (check_feature_stages, extract_features, is_h, model_and_h_features,  # noqa: F401
                                                   model_features, stage_features)
from hf_replearn.evaluation.probe_cv import cv_linear_probe
from hf_replearn.utils.files import RESULTS_FILE
from hf_replearn.utils.progress import stage

# How `hf-replearn eval probe` spells a new directory, overwrite and resume, for output-directory hints.
PROBE_SYNTAX = ("--output-dir <a new directory>", "--overwrite", None)


def default_output_dir(model_paths: list[str], dataset: str) -> Path:
    """Where ``eval probe`` writes without ``--output-dir``: beside the model when it is one run of this toolkit
    (its folder holds the run's results.json), else ``outputs/probe-<dataset>``: an installed package's or the
    hub cache's model folder is not the user's to write in. A labelled file gives its name without the suffix
    (``reviews.csv``: ``probe-reviews``)."""
    data = Path(dataset)
    name = f"probe-{data.stem if data.is_file() else data.name}"
    run = Path(model_paths[0]) if len(model_paths) == 1 else None
    if run is not None and (run / RESULTS_FILE).is_file() and os.access(run, os.W_OK):
        return run / name
    return Path("outputs") / name


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
    """Feature sets compared with the model: ``raw``, ``pca``, ``ica``, ``dictionary``, ``rbm``, ``random_init``."""
    pca_components: int = 64
    """Components of ``pca`` and ``ica``, atoms of ``dictionary``, hidden units of ``rbm``."""
    baseline_fit_samples: int = 5000
    """Training images the ica / dictionary / rbm baselines are fitted on (they are slow on all of them)."""
    label_fractions: list[float] = field(default_factory=list)
    """Fractions of the training labels (e.g. [0.01, 0.1, 1.0]) for the linear and k-NN probes."""
    kmeans_nmi: bool = True
    """k-means NMI of the test features against the test labels."""
    max_iter: int = 1000
    """Iterations of the logistic regression solver."""
    tsne: bool = True
    """Draw a t-SNE picture of the test features coloured by class."""
    tsne_points: int = 2000
    """Test points drawn in the t-SNE picture (at least 5; ``tsne: false`` turns the picture off)."""
    batch_size: int = 512
    feature_stages: list[int] = field(default_factory=lambda: [-1])
    """Encoder stages read by the probe (0 = first, -1 = last; small ResNet encoders only beyond [-1])."""
    feature_grid: int = 1
    """Each stage's map is average-pooled to feature_grid x feature_grid (its own size if smaller) and
    flattened; 1 with stages [-1] is h = f(x) itself."""
    cv_c: bool = False
    """Also choose the logistic probe's C by stratified k-fold cross-validation on each few-label subset itself
    (k = min(5, labels per class); never the test split), reported as ``linear_probe_cv/...`` beside the fixed C."""

    @property
    def reads_h(self) -> bool:
        """Whether the probed features are the model's h = f(x) (the default) rather than pooled stage maps."""
        return is_h(self.feature_stages, self.feature_grid)

    def validate(self) -> None:
        if any(k < 1 for k in self.labels_per_class):
            raise UserError(f"evaluation.labels_per_class must be positive, got {self.labels_per_class}")
        if self.seeds < 1:
            raise UserError(f"evaluation.seeds must be at least 1, got {self.seeds}")
        unknown = set(self.baselines) - set(BASELINES)
        if unknown:
            raise UserError(f"evaluation.baselines: unknown {sorted(unknown)}; choose from {', '.join(BASELINES)}")
        if self.tsne and self.tsne_points < 5:
            raise UserError(
                f"evaluation.tsne_points must be at least 5 for a t-SNE picture, got {self.tsne_points}; "
                "set evaluation.tsne=false to skip the picture"
            )
        if not self.feature_stages:
            raise UserError("evaluation.feature_stages is empty; name at least one encoder stage, e.g. [-1] (the last)")
        if self.feature_grid < 1:
            raise UserError(f"evaluation.feature_grid must be at least 1 (1: global average pooling), got {self.feature_grid}")
        if any(not 0 < f <= 1 for f in self.label_fractions):
            raise UserError(f"evaluation.label_fractions must lie in (0, 1], got {self.label_fractions}")


BASELINES = ("raw", "pca", "ica", "dictionary", "rbm", "random_init")


def balanced_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` examples of each class (fewer if a class has fewer), seeded."""
    rng = np.random.default_rng(seed)
    picks = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        picks.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    return np.sort(np.concatenate(picks))


LARGE_FIT_ROWS = 10_000
"""From this many training rows (dense features) the probe's logistic regression is ``logistic.LogisticRegressionL2``:
the same objective and stopping rule as scikit-learn's, in a tenth of the passes over the data (measured on
60,000 x 3,072 pooled conv features: 80 L-BFGS iterations against scikit-learn's 832)."""


def linear_probe_accuracy(train_x, train_y, test_x, test_y, max_iter: int = 1000) -> float:
    """Test accuracy of ``LogisticRegression()`` (C = 1) fitted on the training features."""
    from scipy.sparse import issparse
    from sklearn.linear_model import LogisticRegression

    from hf_replearn.evaluation.logistic import LogisticRegressionL2

    large = train_x.shape[0] >= LARGE_FIT_ROWS and not issparse(train_x)
    clf = (LogisticRegressionL2 if large else LogisticRegression)(max_iter=max_iter)
    clf.fit(train_x, train_y)
    return float((clf.predict(test_x) == test_y).mean())


def smallest_class(labels) -> int:
    """How many examples the rarest class of ``labels`` has."""
    return int(np.unique(labels, return_counts=True)[1].min())


def fillable_budgets(ev: ProbeConfig, train_labels) -> ProbeConfig:
    """``ev`` without the labels-per-class budgets that the smallest training class cannot fill (a smoke run's
    dataset_limit, a small image folder, a user's CSV under the default budgets): a "100/class" column that drew
    6 images per class would misread."""
    import dataclasses

    smallest = smallest_class(train_labels)
    dropped = [k for k in ev.labels_per_class if k > smallest]
    if not dropped:
        return ev
    print(f"[probe] {', '.join(map(str, dropped))} labels per class left out: the smallest training class has "
          f"{smallest} examples")
    return dataclasses.replace(ev, labels_per_class=[k for k in ev.labels_per_class if k <= smallest])


def knn_k(k: int, train_y) -> int:
    """``k``, at most the smallest class's training count: with fewer examples than k in a class (1 label per
    class, or a small dataset), every vote would go to the largest classes."""
    return min(k, smallest_class(train_y))


def knn_accuracy(train_x, train_y, test_x, test_y, k: int) -> float:
    """Accuracy of a k-nearest-neighbour vote (cosine similarity, uniform weights, ties to the smallest label:
    scikit-learn's ``KNeighborsClassifier(metric="cosine")``).

    Dense features: exact brute force as float32 matrix products and ``topk`` on the process's torch threads, in
    blocks of test rows (10,000 x 60,000 rows on two cores: 25.5 s against scikit-learn's 35.4 s for 3,072
    features, 6.7 s against 28.9 s for 784). Sparse features go to scikit-learn.
    """
    from scipy.sparse import issparse

    k = min(k, train_x.shape[0])
    if issparse(train_x):
        from sklearn.neighbors import KNeighborsClassifier

        return float((KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(train_x, train_y).predict(test_x) == test_y).mean())
    classes, codes = np.unique(train_y, return_inverse=True)
    codes = torch.from_numpy(codes.astype(np.int64))
    unit = lambda x: torch.nn.functional.normalize(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), dim=1)  # noqa: E731
    train, test = unit(train_x), unit(test_x)
    predictions = []
    for start in range(0, len(test), 1024):
        neighbours = (test[start : start + 1024] @ train.T).topk(k, dim=1).indices
        votes = torch.zeros(len(neighbours), len(classes)).scatter_add_(1, codes[neighbours], torch.ones(neighbours.shape))
        predictions.append(votes.argmax(1))  # the first of equal counts: the smallest label
    return float((classes[torch.cat(predictions).numpy()] == np.asarray(test_y)).mean())


def probe_features(name: str, train_x, train_y, test_x, test_y, cfg: ProbeConfig) -> dict[str, float]:
    """Every probe of one feature set; keys as in the module docstring."""
    from threadpoolctl import threadpool_limits

    # One BLAS/OpenMP thread for the small problems: on a busy machine multi-threaded BLAS spin-waits
    # (measured here: logistic regression 4.4 s with 2 threads under load, 0.19 s with 1). The large ones
    # (every label: matrix products over all training rows) take the process's torch thread count, which the
    # CLI chose from the free cores (``utils.threads``).
    threads = torch.get_num_threads()
    with threadpool_limits(1):
        return _probe_features(name, train_x, train_y, test_x, test_y, cfg, threads)


def _probe_features(name, train_x, train_y, test_x, test_y, cfg, threads: int) -> dict[str, float]:
    from scipy.sparse import issparse
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if issparse(train_x):  # TF-IDF rows are already L2-normalised; scaling rare n-grams up would swamp them
        tr, te = train_x, test_x
    else:
        scaler = StandardScaler().fit(train_x)
        tr, te = scaler.transform(train_x), scaler.transform(test_x)
    results = {}
    for k in cfg.labels_per_class:
        accs, cv = [], []
        for seed in range(cfg.seeds):
            idx = balanced_subset(train_y, k, seed)
            accs.append(linear_probe_accuracy(tr[idx], train_y[idx], te, test_y, cfg.max_iter))
            if cfg.cv_c and (chosen := cv_linear_probe(tr[idx], train_y[idx], te, test_y, cfg.max_iter, seed)):
                cv.append(chosen)
        results[f"linear_probe/{name}/{k}_per_class"] = float(np.mean(accs))
        results[f"linear_probe_std/{name}/{k}_per_class"] = float(np.std(accs))
        if cv:
            results[f"linear_probe_cv/{name}/{k}_per_class"] = float(np.mean([a for a, _ in cv]))
            results[f"linear_probe_cv_std/{name}/{k}_per_class"] = float(np.std([a for a, _ in cv]))
            # the C's of the seeds lie decades apart: their geometric mean
            results[f"linear_probe_cv_C/{name}/{k}_per_class"] = float(np.exp(np.mean(np.log([c for _, c in cv]))))
    with threadpool_limits(threads):
        if cfg.all_labels:
            results[f"linear_probe/{name}/all"] = linear_probe_accuracy(tr, train_y, te, test_y, cfg.max_iter)
        results[f"knn/{name}"] = knn_accuracy(train_x, train_y, test_x, test_y, knn_k(cfg.knn_k, train_y))
    for fraction in cfg.label_fractions:
        key = f"{fraction * 100:g}pct"
        idx = fraction_subset(train_y, fraction, seed=0)
        results[f"linear_probe/{name}/{key}"] = (
            results[f"linear_probe/{name}/all"] if fraction == 1 and cfg.all_labels
            else linear_probe_accuracy(tr[idx], train_y[idx], te, test_y, cfg.max_iter)
        )  # fmt: skip
        results[f"knn/{name}/{key}"] = (
            results[f"knn/{name}"] if fraction == 1
            else knn_accuracy(train_x[idx], train_y[idx], test_x, test_y, knn_k(cfg.knn_k, train_y[idx]))
        )  # fmt: skip
    if cfg.kmeans_nmi:
        # On the features as they are, not standardised: standardising would blow up PCA's low-variance
        # components and ICA's noise directions (measured on digits: PCA NMI 0.17 standardised).
        results[f"kmeans_nmi/{name}"] = kmeans_nmi(test_x if issparse(test_x) else np.asarray(test_x, dtype=np.float64), test_y)
    return results


def fraction_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a stratified ``fraction`` of the examples (at least one per class), seeded."""
    if fraction >= 1:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picks = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        picks.append(rng.choice(idx, size=max(1, round(fraction * len(idx))), replace=False))
    return np.sort(np.concatenate(picks))


def kmeans_nmi(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """NMI between k-means clusters (k = number of classes) of ``features`` and ``labels``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    clusters = KMeans(n_clusters=len(np.unique(labels)), n_init=3, random_state=seed).fit_predict(features)
    return float(normalized_mutual_info_score(labels, clusters))


def pixel_vectors(pixels: np.ndarray) -> np.ndarray:
    """Raw-pixel features: each (C, H, W) uint8 image flattened and scaled to [0, 1]."""
    return pixels.reshape(len(pixels), -1) / 255.0


def baseline_features(name: str, train_raw: np.ndarray, test_raw: np.ndarray, cfg: ProbeConfig, seed: int = 0):
    """(train, test) features of a pixel baseline fitted without labels on ``train_raw`` (N, P) in [0, 1]."""
    from sklearn.decomposition import PCA, FastICA, MiniBatchDictionaryLearning
    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_limits

    if name == "raw":
        return train_raw, test_raw
    # centred, N rows span at most N - 1 directions: a component past them is noise, and standardising it (the
    # probe scales every feature to unit variance) turns the test rows' projections on it into huge values
    n = max(1, min(cfg.pca_components, train_raw.shape[0] - 1, train_raw.shape[1]))
    fit = train_raw[np.random.default_rng(seed).permutation(len(train_raw))[: cfg.baseline_fit_samples]]
    if name == "pca":
        model = PCA(n_components=n, random_state=seed).fit(train_raw)
    elif name == "ica":
        model = FastICA(n_components=min(n, len(fit)), whiten="unit-variance", max_iter=400, tol=1e-3, random_state=seed)
    elif name == "dictionary":
        model = MiniBatchDictionaryLearning(n_components=cfg.pca_components, alpha=0.1, batch_size=256, max_iter=5,
                                            transform_algorithm="omp", transform_n_nonzero_coefs=max(1, cfg.pca_components // 8),
                                            random_state=seed)  # fmt: skip
    elif name == "rbm":
        model = BernoulliRBM(n_components=cfg.pca_components, learning_rate=0.05, batch_size=64, n_iter=10, random_state=seed)
    else:
        raise UserError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    with threadpool_limits(1):
        if name != "pca":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # FastICA's convergence warning on tiny test sets
                model.fit(fit)
        return model.transform(train_raw), model.transform(test_raw)


def pixel_baseline_sets(names, train_px: np.ndarray, test_px: np.ndarray, cfg: ProbeConfig) -> dict:
    """{name: (train, test)} of every pixel baseline in ``names`` (``random_init`` is the caller's: it needs a model)."""
    raw = (pixel_vectors(train_px), pixel_vectors(test_px))
    return {name: baseline_features(name, *raw, cfg) for name in names if name != "random_init"}


def evaluate_representations(model, dataset, cfg: ProbeConfig, random_init_model=None, plot_path=None):
    """Probe ``model`` and the baselines on ``dataset`` (DatasetDict with train/test ``pixel_values``, ``label``).

    Returns (results, features) where features maps each feature set to its (train, test) arrays.
    """
    cfg.validate()
    from hf_replearn.data.images import split_arrays

    train, test = dataset["train"], dataset["test"]
    (train_px, train_y), (test_px, test_y) = split_arrays(train), split_arrays(test)
    with stage("probe", f"features of the model ({len(train_px)} train / {len(test_px)} test images)"):
        features = model_and_h_features(model, train_px, test_px, cfg)
    if cfg.baselines:
        with stage("probe", f"baselines {', '.join(cfg.baselines)}"):
            features.update(pixel_baseline_sets(cfg.baselines, train_px, test_px, cfg))
            if "random_init" in cfg.baselines and random_init_model is not None:
                features["random_init"] = model_features(random_init_model, train_px, test_px, cfg)
    results = probe_feature_sets(features, train_y, test_y, cfg)
    if cfg.tsne and plot_path is not None:
        from hf_replearn.evaluation.plots import tsne_plot

        names = train.features["label"].names if hasattr(train.features["label"], "names") else None
        with stage("probe", f"t-SNE of {min(cfg.tsne_points, len(test_y))} test points"):
            tsne_plot(features["model"][1], test_y, plot_path, class_names=names, max_points=cfg.tsne_points)
    return results, features


def probe_feature_sets(features: dict, train_y, test_y, cfg: ProbeConfig) -> dict[str, float]:
    """Every probe of every feature set {name: (train, test)}, keys as in the module docstring."""
    results = {}
    for name, (tr, te) in features.items():
        with stage("probe", f"{name}: {tr.shape[1]} features, linear and k-NN probes"):
            results.update(probe_features(name, tr, train_y, te, test_y, cfg))
    return results


def features_note(cfg: ProbeConfig) -> str:
    """A line under the probe table saying what ``model`` means when it is not h = f(x); else empty."""
    if cfg.reads_h:
        return ""
    return (f"\n\n`model`: encoder stages {list(cfg.feature_stages)}, each average-pooled to at most "
            f"{cfg.feature_grid}x{cfg.feature_grid} and concatenated (`random_init` read the same way); "
            "`model_h`: h = f(x), the globally pooled output.")


def _table_cell(key: str) -> tuple[str, str] | None:
    """(row, column) of ``key``'s cell in :func:`probe_table`: a label budget (or its CV-C figure), k-NN or NMI."""
    parts = key.split("/")
    if parts[0] in ("linear_probe", "linear_probe_cv") and len(parts) == 3:
        return parts[1], parts[2] + (" cv" if parts[0] == "linear_probe_cv" else "")
    if parts[0] in ("knn", "kmeans_nmi") and len(parts) == 2:
        return parts[1], parts[0]
    return None


def shown_in_probe_table(key: str) -> bool:
    """Whether :func:`probe_table` shows ``key`` (a cell, or the ± of one)."""
    return _table_cell(key.replace("_std/", "/", 1)) is not None


def probe_table(results: dict[str, float]) -> str:
    """Markdown table: one row per feature set, one column per label budget (and its CV-C figure), then k-NN."""
    rows, budgets = {}, []
    for key, value in results.items():
        cell = _table_cell(key)
        if cell is None:
            continue
        row, column = cell
        rows.setdefault(row, {})[column] = value
        if column not in ("knn", "kmeans_nmi") and column not in budgets:
            budgets.append(column)
    budgets.sort(key=lambda b: (b == "all", "pct" in b, float(b.split("_")[0].removesuffix("pct")) if b[0].isdigit() else 0,
                                b.endswith(" cv")))  # fmt: skip
    columns = budgets + ["knn"] + (["kmeans_nmi"] if any("kmeans_nmi" in r for r in rows.values()) else [])
    names = {"knn": "k-NN (all)", "kmeans_nmi": "k-means NMI", "all": "all labels"}
    header = "| features | " + " | ".join(names.get(c, c.replace("_per_class", "/class").replace("pct", "% labels")
                                                   .replace(" cv", ", C by CV")) for c in columns) + " |"  # fmt: skip
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for name, row in rows.items():
        cells = []
        for c in columns:
            value = row.get(c)
            cv = c.endswith(" cv")
            std = results.get(f"linear_probe{'_cv' if cv else ''}_std/{name}/{c.removesuffix(' cv')}")
            cells.append("-" if value is None else f"{value:.3f}" + (f" ± {std:.3f}" if std is not None else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
