"""Semi-supervised fine-tuning (SimCLR, Section 6) on digits and Fashion-MNIST, with 1% and 10% of the labels.

For each label fraction and label seed, on the same class-balanced seeded subset of the training labels:
- ``fine-tuned``: recipes/finetune_images.yaml from the SimCLR checkpoint (encoder weights, new linear head);
- ``from scratch``: the same recipe and network without ``model.init_from``;
- ``linear probe``: logistic regression on the frozen SimCLR encoder's h = f(x) (the probe's procedure:
  features standardised on the whole unlabelled training split).
Mean and std of the test accuracy over the seeds.

The SimCLR checkpoint: digits trains recipes/quickstart.yaml as shipped; Fashion-MNIST uses
``$BENCH_SIMCLR_DIR`` when set (an output folder of recipes/simclr_fashion_mnist.yaml), else trains that
recipe for ``$BENCH_SIMCLR_EPOCHS`` epochs (default 10). ``$BENCH_SEMISUP_SEEDS`` (default 3) label seeds,
``$BENCH_SEMISUP_FRACTIONS`` (default ``0.01,0.1``), ``$BENCH_FINETUNE_EPOCHS`` (default: the recipe's) set the size.
``BENCH_SEMISUP_LPFT=1`` adds a column: fine-tuned from SimCLR with the head started from the linear probe
(``model.head_init=probe``, LP-FT).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench.common import ROOT, benchmark

ENCODER_KEYS = ("widths", "blocks_per_stage", "stem_stride")


def _run(recipe_file: str, out: Path, *overrides: str) -> dict:
    from hf_replearn.tasks import load_recipe
    from hf_replearn.tasks import run_recipe

    recipe = load_recipe(ROOT / "recipes" / recipe_file, [f"output_dir={out}", "disable_tqdm=true", *overrides])
    return run_recipe(recipe)


def _probe(model_dir: Path, dataset: str, fraction: float, seeds: int) -> list[float]:
    """Linear probe on the frozen encoder's h with the same subsets the fine-tuning uses."""
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits
    from transformers import AutoConfig, AutoModel

    import hf_replearn.models  # noqa: F401
    from hf_replearn.data.images import ImageDataConfig, load_image_dataset, split_arrays
    from hf_replearn.evaluation.probe import extract_features, linear_probe_accuracy
    from hf_replearn.tasks.finetune_images import labelled_subset

    size = AutoConfig.from_pretrained(model_dir).image_size
    model = AutoModel.from_pretrained(model_dir).eval()
    data = load_image_dataset(ImageDataConfig(name=dataset, image_size=size))
    (train_px, train_y), (test_px, test_y) = split_arrays(data["train"]), split_arrays(data["test"])
    scaler = StandardScaler().fit(train_x := extract_features(model, train_px))
    tr, te = scaler.transform(train_x), scaler.transform(extract_features(model, test_px))
    with threadpool_limits(1):
        return [linear_probe_accuracy(tr[idx], train_y[idx], te, test_y)
                for idx in (labelled_subset(train_y, fraction, seed) for seed in range(seeds))]  # fmt: skip


def semisup_table(dataset: str, simclr_dir: Path, simclr_note: str, extra: list[str]) -> str:
    from transformers import AutoConfig

    import hf_replearn.models  # noqa: F401

    seeds = int(os.environ.get("BENCH_SEMISUP_SEEDS", "3"))
    fractions = [float(f) for f in os.environ.get("BENCH_SEMISUP_FRACTIONS", "0.01,0.1").split(",")]
    epochs = os.environ.get("BENCH_FINETUNE_EPOCHS")
    config = AutoConfig.from_pretrained(simclr_dir)
    sizes = [f"model.{k}={getattr(config, k)}".replace(" ", "") for k in ENCODER_KEYS]
    common = [f"data.name={dataset}", *sizes, *extra, *([f"num_train_epochs={epochs}"] if epochs else [])]
    lpft = os.environ.get("BENCH_SEMISUP_LPFT") == "1"
    rows = ["| labels | labels used | fine-tuned from SimCLR | " + ("fine-tuned, head from the probe (LP-FT) | " if lpft else "")
            + "from scratch | linear probe (frozen SimCLR h) | " + ("best " if lpft else "")
            + "fine-tuned - scratch | fine-tune time per run |",
            "|---|---|---|---|---|---|---|" + ("---|" if lpft else "")]  # fmt: skip
    gaps = {}
    inits = {"ft": [f"model.init_from={simclr_dir}"], "lpft": [f"model.init_from={simclr_dir}", "model.head_init=probe"],
             "scratch": [f"data.image_size={config.image_size}"]}  # fmt: skip
    for fraction in fractions:
        acc = {"ft": [], **({"lpft": []} if lpft else {}), "scratch": []}
        wall, used = 0.0, 0
        for seed in range(seeds):
            for kind in acc:
                with tempfile.TemporaryDirectory() as tmp:
                    start = time.perf_counter()
                    init = inits[kind]
                    r = _run("finetune_images.yaml", Path(tmp) / "run", f"data.label_fraction={fraction}",
                             f"data.label_seed={seed}", *init, *common)  # fmt: skip
                    wall += (time.perf_counter() - start) if kind == "ft" else 0.0
                acc[kind].append(r["eval/accuracy"])
                used = r["data/labels_used"]
        probe = _probe(simclr_dir, dataset, fraction, seeds)
        ft, sc, pr = (np.array(v) for v in (acc["ft"], acc["scratch"], probe))
        gaps[fraction] = max(ft.mean(), np.mean(acc.get("lpft", [0]))) - sc.mean()
        lp = f"{np.mean(acc['lpft']):.3f} ± {np.std(acc['lpft']):.3f} | " if lpft else ""
        rows.append(f"| {fraction:.0%} | {used} | {ft.mean():.3f} ± {ft.std():.3f} | {lp}{sc.mean():.3f} ± {sc.std():.3f} | "
                    f"{pr.mean():.3f} ± {pr.std():.3f} | {gaps[fraction] * 100:+.1f} pts | {wall / seeds:.0f} s |")  # fmt: skip
    lines = [*rows, "", f"{seeds} label seeds (mean ± std over them); {simclr_note}. Fine-tuning: "
             f"recipes/finetune_images.yaml with {' '.join(common)}."]  # fmt: skip
    return "\n".join(lines), gaps


@benchmark("semisup_digits")
def semisup_digits() -> str:
    """Digits, 1% / 10% labels: fine-tuned from the quickstart SimCLR vs from scratch vs linear probe (3 seeds)."""
    with tempfile.TemporaryDirectory() as tmp:
        simclr = Path(tmp) / "quickstart"
        start = time.perf_counter()
        _run("quickstart.yaml", simclr, "evaluation.baselines=[]", "evaluation.tsne=false")
        note = f"SimCLR: recipes/quickstart.yaml as shipped (30 epochs, {time.perf_counter() - start:.0f} s)"
        table, _ = semisup_table("digits", simclr, note, ["augment.flip_p=0"])
    return table


@benchmark("semisup_fashion_mnist")
def semisup_fashion_mnist() -> str:
    """Fashion-MNIST, 1% / 10% labels (target: fine-tuned >= from scratch + 5 points at 1%)."""
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("BENCH_SIMCLR_DIR"):
            simclr = Path(os.environ["BENCH_SIMCLR_DIR"])
            note = f"SimCLR: the checkpoint in $BENCH_SIMCLR_DIR ({simclr})"
        else:
            simclr, epochs = Path(tmp) / "simclr", int(os.environ.get("BENCH_SIMCLR_EPOCHS", "10"))
            start = time.perf_counter()
            _run("simclr_fashion_mnist.yaml", simclr, f"num_train_epochs={epochs}", "evaluation.baselines=[]",
                 "evaluation.tsne=false", "evaluation.labels_per_class=[10]",
                 "evaluation.all_labels=false", "evaluation.kmeans_nmi=false")  # fmt: skip
            note = (f"SimCLR: recipes/simclr_fashion_mnist.yaml shortened to **{epochs} epoch{'s' if epochs != 1 else ''}** (the recipe ships "
                    f"150), {time.perf_counter() - start:.0f} s")  # fmt: skip
        table, gaps = semisup_table("fashion_mnist", simclr, note, [])
    if 0.01 in gaps:
        gap = gaps[0.01] * 100
        table += f"\n\nTarget: at 1% of the labels, fine-tuned >= from scratch + 5 points: **{gap:+.1f}** ({'met' if gap >= 5 else 'NOT met'})."
    return table
