"""Two runs of one recipe, one per core, read together: is the pair worth more than one run for 10 labels per class?

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/probe_two_runs.py EPOCHS OUT_DIR [SEEDS] [key=value ...]

Trains ``simclr_fashion_mnist.yaml`` (channels-last, as the minutes_curve bench) for EPOCHS with each seed of SEEDS
(default ``0,1``) side by side, one thread each, into OUT_DIR/s<seed> (a finished run there is reused), then probes
each run's features and their concatenation as the recipe's evaluation reads a model (stage maps -2, -1 at 4x4;
10 labels per class, the recipe's 3 label subsets). Two independent processes scale perfectly on two cores, where
one run on two processes trains 1.88x faster; the pair is the ensemble that the second core could buy instead.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.bench_minutes import SAME_LEVERS, _cli  # noqa: E402
from scripts.bench.common import ROOT  # noqa: E402

RECIPE = "simclr_fashion_mnist.yaml"


def _train(epochs: int, out: Path, seed: int, extra: list[str]) -> Path:
    if not (out / "results.json").is_file():
        _cli("train", f"recipes/{RECIPE}", *SAME_LEVERS, f"seed={seed}", f"num_train_epochs={epochs}", "evaluation.tsne=false",
             "evaluation.baselines=[]", "evaluation.labels_per_class=[10]", "evaluation.all_labels=false",
             "evaluation.kmeans_nmi=false", "disable_tqdm=true", "save_steps=1000000", f"output_dir={out}", *extra,
             log=out.with_suffix(".log"))  # fmt: skip
    return out


def main(epochs: int, root: Path, seeds: list[int], extra: list[str]) -> None:
    import numpy as np
    import torch
    from transformers import AutoModel

    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from hf_replearn.data.images import load_image_dataset, split_arrays
    from hf_replearn.evaluation.probe import model_features, probe_features
    from hf_replearn.tasks import load_recipe

    root.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(len(seeds)) as pool:
        runs = list(pool.map(lambda s: _train(epochs, root / f"s{s}", s, extra), seeds))
    cfg = load_recipe(ROOT / "recipes" / RECIPE, ["evaluation.labels_per_class=[10]", "evaluation.all_labels=false",
                                                  "evaluation.kmeans_nmi=false", "evaluation.baselines=[]"])  # fmt: skip
    torch.set_num_threads(1)
    data = load_image_dataset(cfg.data)
    (train_px, train_y), (test_px, test_y) = split_arrays(data["train"]), split_arrays(data["test"])
    rows, features = ["| run | minutes of one core | 10/class |", "|---|---|---|"], []
    for run in runs:
        train_x, test_x = model_features(AutoModel.from_pretrained(run).eval(), train_px, test_px, cfg.evaluation)
        features.append((train_x, test_x))
        probe = probe_features("m", train_x, train_y, test_x, test_y, cfg.evaluation)
        minutes = json.loads((run / "results.json").read_text())["train/cpu_s"] / 60
        rows.append(f"| {run.name} | {minutes:.1f} | {probe['linear_probe/m/10_per_class']:.3f} ± "
                    f"{probe['linear_probe_std/m/10_per_class']:.3f} |")  # fmt: skip
    both = [np.concatenate(parts, axis=1) for parts in zip(*features)]
    probe = probe_features("m", both[0], train_y, both[1], test_y, cfg.evaluation)
    rows.append(f"| {' + '.join(r.name for r in runs)} (features side by side) | | "
                f"{probe['linear_probe/m/10_per_class']:.3f} ± {probe['linear_probe_std/m/10_per_class']:.3f} |")  # fmt: skip
    print("\n".join(rows))


if __name__ == "__main__":
    args = sys.argv[1:]
    seeds = [int(s) for s in args[2].split(",")] if len(args) > 2 and "=" not in args[2] else [0, 1]
    main(int(args[0]), Path(args[1]), seeds, [a for a in args[2:] if "=" in a])
