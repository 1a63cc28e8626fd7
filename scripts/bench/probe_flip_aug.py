"""Does the few-label probe gain from flipped copies of its labelled images? Per-subset 10/class accuracy.

    OMP_NUM_THREADS=1 python scripts/bench/probe_flip_aug.py OUTPUT_DIR [DATASET]

OUTPUT_DIR is a trained image recipe's output (kept by ``BENCH_KEEP_DIR``); DATASET defaults to fashion_mnist.
For the model's features (stage maps -2,-1 pooled to 4x4, as simclr_fashion_mnist.yaml reads them) and for raw
pixels, prints the 10-labels-per-class accuracy of each of the 3 seeded subsets the recipes' probe uses, then
the same with the horizontally flipped copies of those labelled images added to the probe's training set
(SimCLR's linear evaluation trains its classifier with flips too). Standardised as in hf_replearn.evaluation.probe.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.common import load_probe_inputs  # noqa: E402


def main(model_dir: str, dataset: str = "fashion_mnist") -> None:
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from hf_replearn.evaluation.probe import balanced_subset, extract_features, linear_probe_accuracy, pixel_vectors

    model, (train_px, train_y), (test_px, test_y) = load_probe_inputs(model_dir, dataset)
    flipped_px = np.ascontiguousarray(train_px[..., ::-1])
    readers = {
        "model": lambda px: extract_features(model, px, stages=[-2, -1], grid=4),
        "raw": pixel_vectors,
    }
    for name, read in readers.items():
        train_x, flipped_x, test_x = read(train_px), read(flipped_px), read(test_px)
        scaler = StandardScaler().fit(train_x)
        tr, fl, te = scaler.transform(train_x), scaler.transform(flipped_x), scaler.transform(test_x)
        plain, with_flips = [], []
        with threadpool_limits(1):
            for seed in range(3):
                idx = balanced_subset(train_y, 10, seed)
                plain.append(linear_probe_accuracy(tr[idx], train_y[idx], te, test_y))
                both_x, both_y = np.concatenate([tr[idx], fl[idx]]), np.concatenate([train_y[idx]] * 2)
                with_flips.append(linear_probe_accuracy(both_x, both_y, te, test_y))
        for label, accs in (("10/class", plain), ("10/class + flipped copies", with_flips)):
            print(f"{name} {label}: mean {np.mean(accs):.4f}, subsets {', '.join(f'{a:.4f}' for a in accs)}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
