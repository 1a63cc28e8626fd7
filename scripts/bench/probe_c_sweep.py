"""Is the linear probe the limit? Logistic-regression C against accuracy on a trained image model's features.

    OMP_NUM_THREADS=1 python scripts/bench/probe_c_sweep.py OUTPUT_DIR [DATASET]

OUTPUT_DIR is a trained image recipe's output (kept by ``BENCH_KEEP_DIR``); DATASET defaults to fashion_mnist.
Prints 10-labels-per-class accuracy (mean of 3 seeded subsets, as the recipes' probe) for C in 0.01, 0.1, 1
on the model's features and on raw pixels, standardised as in hf_replearn.evaluation.probe, and for C in 1, 10,
100 on L2-normalised ones; then all-label accuracy (standardised) for C in 0.1, 1, 10 with the solver's
iteration count.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.common import load_probe_inputs  # noqa: E402


def main(model_dir: str, dataset: str = "fashion_mnist") -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler, normalize
    from threadpoolctl import threadpool_limits

    from hf_replearn.evaluation.probe import extract_features, pixel_vectors

    model, (train_px, train_y), (test_px, test_y) = load_probe_inputs(model_dir, dataset)
    feature_sets = {
        "model": (extract_features(model, train_px), extract_features(model, test_px)),
        "raw": (pixel_vectors(train_px), pixel_vectors(test_px)),
    }
    with threadpool_limits(1):
        for name, (train_x, test_x) in feature_sets.items():
            scaler = StandardScaler().fit(train_x)
            tr, te = scaler.transform(train_x), scaler.transform(test_x)
            for c in (0.01, 0.1, 1.0):
                print(f"{name} 10/class C={c}: {ten_per_class(tr, train_y, te, test_y, c):.3f}", flush=True)
            # Contrastive features are trained on the unit sphere: also try them L2-normalised, not standardised
            l2_tr, l2_te = normalize(train_x), normalize(test_x)
            for c in (1.0, 10.0, 100.0):
                print(f"{name} 10/class L2-normalised C={c}: {ten_per_class(l2_tr, train_y, l2_te, test_y, c):.3f}", flush=True)
            for c in (0.1, 1.0, 10.0):
                start = time.perf_counter()
                clf = LogisticRegression(C=c, max_iter=3000).fit(tr, train_y)
                print(f"{name} all labels C={c}: {(clf.predict(te) == test_y).mean():.4f} "
                      f"({clf.n_iter_[0]} iterations, {time.perf_counter() - start:.0f} s)", flush=True)


def ten_per_class(tr, train_y, te, test_y, c: float) -> float:
    """Mean test accuracy of logistic regression on 10 labels per class, over 3 seeded subsets."""
    from sklearn.linear_model import LogisticRegression

    from hf_replearn.evaluation.probe import balanced_subset

    accs = []
    for seed in range(3):
        idx = balanced_subset(train_y, 10, seed)
        clf = LogisticRegression(C=c, max_iter=2000).fit(tr[idx], train_y[idx])
        accs.append((clf.predict(te) == test_y).mean())
    return float(np.mean(accs))


if __name__ == "__main__":
    main(*sys.argv[1:])
