"""What a representation is worth after 5, 10, 20, 30, 60 minutes of training: 10 labels per class on Fashion-MNIST.

Each recipe trains once, for about the last mark, with ``save_at_minutes`` on the ``cpu`` clock (the process's
CPU time with one torch thread: the minutes of one core, however busy the machine is), so several recipes can
train side by side and their minutes stay comparable. Every mark's checkpoint is then probed as the recipe's own
evaluation reads it (its ``feature_stages`` / ``feature_grid``): logistic regression on 10 labels per class, the
3 seeded label subsets of the recipe's probe, mean and std. A mark is a point inside one run whose learning-rate
schedule spans the whole run (it is not a run of that length with its own schedule); the last row of each recipe
is its final model. Every recipe trains with ``channels_last=true``, so that the methods share the speed levers.

    OMP_NUM_THREADS=1 python scripts/bench/run.py minutes_curve

Settings: ``BENCH_CURVE_RECIPES`` (comma-separated files in recipes/, default the three below),
``BENCH_CURVE_MINUTES`` (default ``5,10,20,30,60``), ``BENCH_CURVE_PARALLEL`` (recipes training at once,
default 2: one per core), ``BENCH_KEEP_DIR`` (keep the runs there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.bench.common import ROOT, benchmark

RECIPES = ["simclr_fashion_mnist.yaml", "moco_fashion_mnist.yaml", "simclr_multicrop_fashion_mnist.yaml"]
TRAIN_IMAGES = 60_000


def _settings() -> tuple[list[str], list[float], int]:
    recipes = [r for r in os.environ.get("BENCH_CURVE_RECIPES", ",".join(RECIPES)).split(",") if r]
    minutes = sorted(float(m) for m in os.environ.get("BENCH_CURVE_MINUTES", "5,10,20,30,60").split(","))
    return recipes, minutes, int(os.environ.get("BENCH_CURVE_PARALLEL", "2"))


SAME_LEVERS = ["channels_last=true"]
"""Every recipe trains with the same speed levers (bf16 is in each recipe already)."""


def _cli(*args: str, log: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        proc = subprocess.run([sys.executable, "-m", "hf_replearn", *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f"`hf-replearn {' '.join(args)}` failed; see {log}:\n{log.read_text()[-2000:]}")


def _cpu_seconds_per_image(recipe: str, out: Path) -> float:
    """One thread's CPU seconds per training image, from 40 steps of the recipe as shipped."""
    import json

    _cli("train", f"recipes/{recipe}", *SAME_LEVERS, "max_steps=40", "dataset_limit=10240", "evaluation.tsne=false", "evaluation.baselines=[]",
         "evaluation.labels_per_class=[1]", "evaluation.all_labels=false", "evaluation.kmeans_nmi=false",
         "evaluation.seeds=1", "disable_tqdm=true", f"output_dir={out}", log=out.with_suffix(".log"))  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    return results["train/cpu_s"] / (results["train/samples_per_second"] * results["train/runtime_s"])


def _train_and_probe(recipe: str, minutes: list[float], out: Path) -> dict:
    """Trains ``recipe`` for about ``minutes[-1]`` minutes of one core, then probes every mark's checkpoint (in a
    process of its own, one thread); returns {"epochs", "points": [(cpu minutes, 10/class mean, std)]}."""
    import json
    import math

    if (out / "results.json").is_file():  # a finished run kept in BENCH_KEEP_DIR: probe it again, do not retrain
        print(f"[minutes_curve] {recipe}: reusing the finished run in {out}", flush=True)
        last = max(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
        return _probe_run(recipe, out, int(json.loads((last / "trainer_state.json").read_text())["num_train_epochs"]))
    per_image = _cpu_seconds_per_image(recipe, out.with_name(out.name + "-throughput"))
    epochs = max(1, math.ceil(minutes[-1] * 60 / per_image / TRAIN_IMAGES))
    marks = minutes[:-1]  # the last mark is the final model, whose minutes are its run's
    _cli("train", f"recipes/{recipe}", *SAME_LEVERS, f"num_train_epochs={epochs}", f"save_at_minutes=[{','.join(f'{m:g}' for m in marks)}]",
         "minutes_clock=cpu", "evaluation.tsne=false", "evaluation.baselines=[]", "evaluation.labels_per_class=[10]",
         "evaluation.all_labels=false", "evaluation.kmeans_nmi=false", "disable_tqdm=true", "save_steps=1000000",
         f"output_dir={out}", log=out.with_suffix(".log"))  # fmt: skip
    return _probe_run(recipe, out, epochs)


def _probe_run(recipe: str, out: Path, epochs: int) -> dict:
    """The final model's 10/class (from the run's results.json) and every mark's checkpoint, probed."""
    import json

    results = json.loads((out / "results.json").read_text())
    points = [(results["train/cpu_s"] / 60, results["linear_probe/model/10_per_class"],
               results["linear_probe_std/model/10_per_class"])]  # fmt: skip
    for mark in out.glob("minutes-*"):  # each mark's model, kept by save_at_minutes
        state = json.loads((mark / "trainer_state.json").read_text())["stateful_callbacks"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        probe = subprocess.run([sys.executable, __file__, recipe, str(mark)], env=env, check=True,
                               capture_output=True, text=True)  # fmt: skip
        mean, std = json.loads(probe.stdout.strip().splitlines()[-1])
        points.append((state["RunTotals"]["attributes"]["cpu_s"] / 60, mean, std))
    return {"epochs": epochs, "points": sorted(points)}


def _probe_10_per_class(recipe: str, model_dir: Path) -> tuple[float, float]:
    """10 labels per class, read as ``recipe``'s evaluation reads the model, on the recipe's 3 label subsets."""
    import torch
    from transformers import AutoModel

    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from hf_replearn.data.images import load_image_dataset, split_arrays
    from hf_replearn.evaluation.probe import model_features, probe_features
    from hf_replearn.tasks import load_recipe

    recipe_cfg = load_recipe(ROOT / "recipes" / recipe, ["evaluation.labels_per_class=[10]", "evaluation.all_labels=false",
                                                         "evaluation.kmeans_nmi=false", "evaluation.baselines=[]"])  # fmt: skip
    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(model_dir).eval()
    data = load_image_dataset(recipe_cfg.data)
    (train_px, train_y), (test_px, test_y) = split_arrays(data["train"]), split_arrays(data["test"])
    train_x, test_x = model_features(model, train_px, test_px, recipe_cfg.evaluation)
    out = probe_features("model", train_x, train_y, test_x, test_y, recipe_cfg.evaluation)
    return out["linear_probe/model/10_per_class"], out["linear_probe_std/model/10_per_class"]


@benchmark("minutes_curve")
def minutes_curve() -> str:
    """10 labels per class on Fashion-MNIST against minutes of training (one core each), per recipe."""
    recipes, minutes, parallel = _settings()
    keep = os.environ.get("BENCH_KEEP_DIR")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(keep) if keep else Path(tmp)
        with ThreadPoolExecutor(parallel) as pool:
            runs = dict(zip(recipes, pool.map(lambda r: _train_and_probe(r, minutes, root / Path(r).stem), recipes)))
    rows = ["| recipe | epochs (schedule) | minutes of one core | 10/class | std |", "|---|---|---|---|---|"]
    for recipe, run in runs.items():
        rows += [f"| {recipe} | {run['epochs']} | {m:.1f} | {mean:.3f} | {std:.3f} |" for m, mean, std in run["points"]]
    wall = (time.perf_counter() - start) / 60
    return "\n".join(rows + ["", f"Wall time of the whole bench: {wall:.0f} min ({parallel} recipes training at once, one thread each)."])


if __name__ == "__main__":  # one checkpoint's probe, in a process of its own: RECIPE CHECKPOINT_DIR
    import json

    sys.path.insert(0, str(ROOT))
    print(json.dumps(_probe_10_per_class(sys.argv[1], Path(sys.argv[2]))))
