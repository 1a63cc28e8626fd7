"""What other readouts of a SimCLR checkpoint give the few-label probe, against the recipe's.

    OMP_NUM_THREADS=2 PYTHONPATH=. python scripts/bench/probe_head_readout.py RUN_DIR

RUN_DIR: the output_dir of ``recipes/simclr_fashion_mnist.yaml``. The 10-labels-per-class linear probe (the recipe's
3 seeded subsets, C = 1 on standardised features) on Fashion-MNIST's test split, reading: the encoder's last two
stage maps pooled to 4x4 (the recipe's readout); other stages and grids; the same maps averaged over the image and
its mirror image, or the two side by side (test-time flips); h = f(x); the head's hidden layer g1 = ReLU(BN(W1 h))
(SimCLRv2 reads the middle of a deeper head), its output z, and the stage maps with g1 beside them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import hf_replearn.models  # noqa: E402,F401  (registers the Auto classes)
from hf_replearn.data.images import ImageDataConfig, load_image_dataset  # noqa: E402
from hf_replearn.evaluation.image_features import extract_features  # noqa: E402
from hf_replearn.evaluation.probe import ProbeConfig, probe_features  # noqa: E402

STAGE_READOUTS = [([-2, -1], 4), ([-3, -2, -1], 4), ([-3, -2, -1], 2), ([-2, -1], 2), ([-2], 4)]
"""(stages, grid) pairs; the first is the recipe's."""


def main(run: str) -> None:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(run).eval()
    data = load_image_dataset(ImageDataConfig(name="fashion_mnist"))
    feats, labels = {}, {}
    for split in ("train", "test"):
        pixels = np.asarray(data[split]["pixel_values"], dtype=np.uint8)
        labels[split] = np.asarray(data[split]["label"])
        recipe, h = extract_features(model, pixels, 512, [-2, -1], 4, with_h=True)
        mirrored = extract_features(model, np.ascontiguousarray(pixels[..., ::-1]), 512, [-2, -1], 4)
        with torch.no_grad():
            g1 = model.projection[:3](torch.from_numpy(h)).numpy()
            z = model.projection(torch.from_numpy(h)).numpy()
        feats[split] = {f"stage maps {stages} at {grid}x{grid}": extract_features(model, pixels, 512, stages, grid)
                        for stages, grid in STAGE_READOUTS[1:]}  # fmt: skip
        feats[split] = {"stage maps [-2, -1] at 4x4 (the recipe)": recipe, **feats[split],
                        "the recipe's maps averaged with the mirror image's": (recipe + mirrored) / 2,
                        "the recipe's maps and the mirror image's side by side": np.concatenate([recipe, mirrored], 1),
                        "h": h, "g1": g1, "z": z, "the recipe's maps and g1": np.concatenate([recipe, g1], 1)}  # fmt: skip
    cfg = ProbeConfig(labels_per_class=[10], seeds=3, all_labels=False, kmeans_nmi=False, tsne=False)
    print("| readout | dims | 10/class |\n|---|---|---|")
    for name in feats["train"]:
        r = probe_features("f", feats["train"][name], labels["train"], feats["test"][name], labels["test"], cfg)
        print(f"| {name} | {feats['train'][name].shape[1]} | {r['linear_probe/f/10_per_class']:.3f} ± "
              f"{r['linear_probe_std/f/10_per_class']:.3f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
