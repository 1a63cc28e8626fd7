"""Image benchmarks: every image method in one table, MoCo's Figure 3 in miniature, beta-VAE MIG.

    python scripts/bench/run.py images_table moco_figure3 beta_vae_mig
    python scripts/bench/run.py moco_fashion_mnist   # the recipe as shipped, its own budget

Every method trains with the same encoder (widths [32, 64, 128, 256] behind a stride-2 stem) for ``BENCH_STEPS`` optimizer steps
(environment variable; default 2000), so the table compares methods at one budget. ``BENCH_OVERRIDES`` adds
recipe overrides to every run (space-separated ``key=value``, e.g. ``BENCH_OVERRIDES="bf16=auto"``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scripts.bench.common import ROOT, benchmark, probe_report, run_probe_recipe

STEPS = int(os.environ.get("BENCH_STEPS", "2000"))
OVERRIDES = os.environ.get("BENCH_OVERRIDES", "").split()
QUICK_EVAL = ["evaluation.baselines=[]", "evaluation.tsne=false", "evaluation.labels_per_class=[10]", "disable_tqdm=true"]


def _train(recipe_file: str, output_dir: Path, *overrides: str) -> dict:
    from hf_replearn.tasks import load_recipe, run_recipe

    recipe = load_recipe(ROOT / "recipes" / recipe_file, [f"output_dir={output_dir}", f"max_steps={STEPS}", *QUICK_EVAL, *OVERRIDES, *overrides])
    return run_recipe(recipe)


def _overrides_note() -> str:
    return f" (overrides: {' '.join(OVERRIDES)})" if OVERRIDES else ""


@benchmark("images_table")
def images_table() -> str:
    """Fashion-MNIST: SimCLR, MoCo, rotation, context, inpainting, autoencoder vs raw/PCA/ICA/dictionary/RBM/random,
    linear probe and k-NN at 1% / 10% / 100% of the labels, k-means NMI (target: MoCo, all labels >= 0.88)."""
    from hf_replearn.evaluation.compare import comparison_markdown, probe_many

    names = ["simclr", "moco", "rotation", "context", "inpainting", "autoencoder"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            _train(f"{name}_fashion_mnist.yaml", Path(tmp) / name)
        table = probe_many([f"{tmp}/{n}" for n in names], "fashion_mnist", Path(tmp) / "comparison",
                           baselines=["raw", "pca", "ica", "dictionary", "rbm", "random_init"])  # fmt: skip
    moco = table["moco"]["linear_probe/100pct"]
    return "\n".join([comparison_markdown(table, [0.01, 0.1, 1.0]), "",
                      f"{STEPS} steps per method{_overrides_note()}. MoCo linear probe with all labels: **{moco:.3f}** "
                      f"({'at or above' if moco >= 0.88 else 'below'} the 0.88 target at this budget; the target is measured "
                      "on the MoCo recipe at its own budget, section moco_fashion_mnist)."])  # fmt: skip


@benchmark("moco_fashion_mnist")
def moco_fashion_mnist() -> str:
    """The MoCo Fashion-MNIST recipe as shipped, full probe table against the baselines (target: all labels >= 0.88)."""
    results, wall, table = run_probe_recipe("moco_fashion_mnist.yaml")
    a = results["linear_probe/model/all"]
    return probe_report(results, wall, table, [
        f"Target: MoCo linear probe with all labels >= 0.88: **{a:.3f}** ({'met' if a >= 0.88 else 'NOT met'})."])


@benchmark("moco_figure3")
def moco_figure3() -> str:
    """Linear probe (all labels) against the number of negatives K for end-to-end, memory bank and MoCo."""
    rows = ["| mechanism | K | linear probe (all labels) | k-NN |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("end_to_end", b - 1, [f"per_device_train_batch_size={b}"]) for b in (64, 128, 256)]
        runs += [(m, k, [f"model.queue_size={k}"]) for m in ("memory_bank", "moco") for k in (256, 1024, 4096)]
        for mechanism, k, extra in runs:
            r = _train("moco_fashion_mnist.yaml", Path(tmp) / f"{mechanism}-{k}", f"model.key_mechanism={mechanism}", *extra)
            rows.append(f"| {mechanism} | {k} | {r['linear_probe/model/all']:.3f} | {r['knn/model']:.3f} |")
    return "\n".join(rows + ["", f"{STEPS} steps each{_overrides_note()}; end-to-end's K is the batch size - 1."])


@benchmark("beta_vae_mig")
def beta_vae_mig() -> str:
    """beta-VAE on the project's sprites: mutual information gap for beta = 1 (plain VAE) and beta = 4, 8 (BENCH_BETAS)."""
    rows = ["| beta | MIG | shape: linear probe (all labels) | last logged loss |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for beta in [float(b) if "." in b else int(b) for b in os.environ.get("BENCH_BETAS", "1,4,8").split(",")]:
            r = _train("beta_vae_sprites.yaml", Path(tmp) / f"beta{beta}", f"model.beta={beta}")
            rows.append(f"| {beta} | {r['disentanglement/mig']:.3f} | {r['linear_probe/model/all']:.3f} | "
                        f"{r.get('train/last_logged_loss', float('nan')):.1f} |")  # fmt: skip
    return "\n".join(rows + ["", f"{STEPS} steps each{_overrides_note()}."])
