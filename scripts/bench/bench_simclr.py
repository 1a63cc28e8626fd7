"""SimCLR benchmarks: the probe tables on digits and Fashion-MNIST, and training throughput."""

from __future__ import annotations

import time

import torch

from scripts.bench.common import ROOT, benchmark, probe_report, run_probe_recipe


@benchmark("simclr_digits")
def simclr_digits() -> str:
    """The quickstart recipe as shipped: SimCLR on digits, probe table, wall time (target: model >= 0.90 at 10/class)."""
    results, wall, table = run_probe_recipe("quickstart.yaml")
    m, r = results["linear_probe/model/10_per_class"], results["linear_probe/raw/10_per_class"]
    return probe_report(results, wall, table, [
        f"Target: linear probe on SimCLR features with 10 labels per class >= 0.90: **{m:.3f}** "
        f"({'met' if m >= 0.90 else 'NOT met'}); raw pixels {r:.3f}; whole recipe in 5 minutes or less: "
        f"**{wall / 60:.1f} min** ({'met' if wall <= 300 else 'NOT met'})."])  # fmt: skip


@benchmark("simclr_fashion_mnist")
def simclr_fashion_mnist() -> str:
    """The Fashion-MNIST recipe as shipped (targets: all labels >= 0.88; 10/class >= raw + 0.10)."""
    results, wall, table = run_probe_recipe("simclr_fashion_mnist.yaml")
    a, m, r = results["linear_probe/model/all"], results["linear_probe/model/10_per_class"], results["linear_probe/raw/10_per_class"]
    return probe_report(results, wall, table, [
        f"Targets: all labels >= 0.88: **{a:.3f}** ({'met' if a >= 0.88 else 'NOT met'}); 10 labels per class "
        f">= raw + 0.10: **{m:.3f}** vs raw {r:.3f} ({'met' if m >= r + 0.10 else 'NOT met'})"
        + (f"; h = f(x) alone (model_h): {results['linear_probe/model_h/10_per_class']:.3f}."
           if "linear_probe/model_h/10_per_class" in results else ".")])  # fmt: skip


@benchmark("simclr_throughput")
def simclr_throughput() -> str:
    """Training images/s and where a step's time goes: augmentation (batched kornia vs per-image loop) vs forward/backward."""
    from hf_replearn.data.augment import build_augmentation
    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    from hf_replearn.tasks import load_recipe

    from hf_replearn.training.args import bf16_native

    bf16 = bf16_native()
    rows = ["| recipe (images, encoder widths) | batch | augment 2 views (batched) | augment 2 views (per image, same ops) | "
            "forward+backward+step | augmentation share | images/s | forward+backward+step, bf16 autocast | images/s, bf16 |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    torch.manual_seed(0)
    for recipe_file, size in (("quickstart.yaml", 16), ("simclr_fashion_mnist.yaml", 28)):
        recipe = load_recipe(ROOT / "recipes" / recipe_file)
        widths = recipe.model.widths
        label = f"{recipe_file} ({size}x{size}, {widths}, stem stride {recipe.model.stem_stride})"
        model = SimCLRModel(SimCLRConfig(image_size=size, **recipe.model.config_kwargs()))
        aug = build_augmentation(recipe.augment, size, 1)
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        x = torch.rand(256, 1, size, size)
        t_aug = t_loop = t_step = t_bf16 = 0.0
        reps = 5
        for i in range(reps + 1):
            t0 = time.perf_counter()
            v1, v2 = aug(x), aug(x)
            t1 = time.perf_counter()
            if i < 2:
                [aug(x[j : j + 1]) for j in range(len(x)) for _ in range(2)]
            t2 = time.perf_counter()
            _step(model, opt, v1, v2, bf16=False)
            t3 = time.perf_counter()
            if bf16:  # interleaved with fp32, so that both see the same machine load
                _step(model, opt, v1, v2, bf16=True)
            t4 = time.perf_counter()
            if i:  # the first repetition warms up
                t_aug += t1 - t0
                t_step += t3 - t2
                t_bf16 += t4 - t3
                t_loop += (t2 - t1) if i < 2 else 0
        t_aug, t_step, t_bf16 = t_aug / reps, t_step / reps, t_bf16 / reps
        bf16_cells = f"{t_bf16 * 1000:.0f} ms ({t_step / t_bf16:.2f}x faster) | {256 / (t_aug + t_bf16):.0f}" if bf16 else "- | -"
        rows.append(f"| {label} | 256 | {t_aug * 1000:.0f} ms | {t_loop * 1000:.0f} ms ({t_loop / t_aug:.0f}x slower) | "
                    f"{t_step * 1000:.0f} ms | {t_aug / (t_aug + t_step):.0%} | {256 / (t_aug + t_step):.0f} | {bf16_cells} |")  # fmt: skip
    return "\n".join(rows + ["", f"torch threads: {torch.get_num_threads()}. Images/s counts source images (each gives two views). "
                              f"bf16 (training.bf16=auto): {'native here' if bf16 else 'no bf16 hardware here, not measured'}."])  # fmt: skip


def _step(model, opt, v1, v2, bf16: bool) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(v1, v2).loss
    loss.backward()
    opt.step()
    opt.zero_grad()
