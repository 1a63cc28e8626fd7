"""Fine-tuning benchmarks on the shipped all-MiniLM-L6-v2, through the recipes themselves.

    OMP_NUM_THREADS=1 nice -n 10 python scripts/bench/run.py finetune_minilm
    OMP_NUM_THREADS=1 nice -n 10 python scripts/bench/run.py finetune_throughput

``finetune_minilm``: recipes/glue.yaml (full fine-tuning) and recipes/glue_lora.yaml (LoRA r=8 on query/value,
its usual higher learning rate) on the embedded polarity task (Pang & Lee, SST-2 style), same data, epochs
and batch; then recipes/squad.yaml and recipes/squad_v2.yaml on the embedded WordNet QA. Sizes come from
``SIZES`` (environment ``BENCH_FT_*`` overrides them) so the whole benchmark fits a shared 2-core CPU.

``finetune_throughput``: training samples/s of recipes/glue.yaml and recipes/squad.yaml against plain
Trainer pipelines written the way transformers' run_glue.py and run_qa.py do it (same model, data, batch,
steps); see scripts/bench/throughput_vs_plain_trainer.py.
"""

from __future__ import annotations

import os
import tempfile
import time

from scripts.bench.common import ROOT, benchmark

SIZES = {
    "polarity_epochs": float(os.environ.get("BENCH_FT_POLARITY_EPOCHS", 2)),
    "polarity_limit": int(os.environ.get("BENCH_FT_POLARITY_LIMIT", 2400)) or None,  # 0: all 3,600
    "qa_limit": int(os.environ.get("BENCH_FT_QA_LIMIT", 4000)),
    "qa_eval_limit": int(os.environ.get("BENCH_FT_QA_EVAL_LIMIT", 200)),
    "qa_epochs": float(os.environ.get("BENCH_FT_QA_EPOCHS", 2)),
}


def _run(recipe_file: str, out: str, overrides: list[str]) -> tuple[dict, float]:
    from hf_replearn.tasks import load_recipe, run_recipe

    recipe = load_recipe(ROOT / "recipes" / recipe_file,
                         [f"output_dir={out}", "overwrite_output_dir=true", "save_strategy='no'",
                          "disable_tqdm=true", *overrides])  # fmt: skip
    start = time.perf_counter()
    results = run_recipe(recipe)
    return results, time.perf_counter() - start


@benchmark("finetune_minilm")
def finetune_minilm() -> str:
    """MiniLM: polarity full vs LoRA (accuracy, time, trainable params; LoRA within 2 points) and WordNet QA EM/F1."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    s = SIZES
    pol = [f"num_train_epochs={s['polarity_epochs']}"] + ([f"dataset_limit={s['polarity_limit']}"] if s["polarity_limit"] else [])
    qa = [f"dataset_limit={s['qa_limit']}", f"data.eval_limit={s['qa_eval_limit']}", f"num_train_epochs={s['qa_epochs']}"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "full": _run("glue.yaml", f"{tmp}/full", pol),
            "lora": _run("glue_lora.yaml", f"{tmp}/lora", pol),
            "squad": _run("squad.yaml", f"{tmp}/squad", qa),
            "squad_v2": _run("squad_v2.yaml", f"{tmp}/squad_v2", qa),
        }
    full, lora = runs["full"][0], runs["lora"][0]
    rows = ["| polarity (400 validation sentences) | accuracy | trainable / total parameters | train time | wall time (load+train+eval) |",
            "|---|---|---|---|---|"]
    for name, (r, wall), lr in (("full fine-tuning (recipes/glue.yaml)", runs["full"], "5e-5"),
                                ("LoRA r=8, alpha 16, query+value (recipes/glue_lora.yaml)", runs["lora"], "1e-3")):
        rows.append(f"| {name}, lr {lr} | {r['validation/accuracy']:.3f} | {r['model/trainable_params']:,} / "
                    f"{r['model/total_params']:,} ({r['model/trainable_params'] / r['model/total_params']:.2%}) | "
                    f"{r['train/runtime_s']:.0f} s | {wall:.0f} s |")
    gap = 100 * (full["validation/accuracy"] - lora["validation/accuracy"])
    squad, squad_s = runs["squad"]
    v2, v2_s = runs["squad_v2"]
    qa_rows = ["| WordNet QA | EM | F1 | details | train time |", "|---|---|---|---|---|",
               f"| SQuAD v1.1 style (recipes/squad.yaml) | {squad['validation/exact_match']:.1f} | {squad['validation/f1']:.1f} | "
               f"{squad['validation/windows']} eval windows | {squad['train/runtime_s']:.0f} s |",
               f"| SQuAD v2.0 style (recipes/squad_v2.yaml) | {v2['validation/exact']:.1f} | {v2['validation/f1']:.1f} | "
               f"HasAns F1 {v2.get('validation/HasAns_f1', float('nan')):.1f}, NoAns exact {v2.get('validation/NoAns_exact', float('nan')):.1f}"
               f" | {v2['train/runtime_s']:.0f} s |"]
    n_train = s["polarity_limit"] or 3600
    return "\n".join(rows + [
        "", f"Both polarity arms: {n_train:,} training sentences, {s['polarity_epochs']:g} epochs, batch 32, "
        "max length 128, seed 42, warm-up 6 %; only the learning rate differs (LoRA's usual higher one).",
        f"Target: LoRA within 2 points of full fine-tuning: **{gap:+.1f} points** (full - LoRA; "
        f"{'met' if abs(gap) <= 2 or gap < 0 else 'NOT met'}).", "", *qa_rows, "",
        f"QA: the embedded WordNet-derived QA (DATA.md), first {s['qa_limit']:,} training questions, "
        f"{s['qa_epochs']:g} epoch(s), batch 32, lr 1e-4, max length 128, doc stride 32; evaluated on the first "
        f"{s['qa_eval_limit']} validation questions (v2.0: about a third unanswerable, null threshold 0).",
    ])


THROUGHPUT_STEPS = int(os.environ.get("BENCH_FT_THROUGHPUT_STEPS", 12))


@benchmark("finetune_throughput")
def finetune_throughput() -> str:
    """Training samples/s of recipes/glue.yaml and recipes/squad.yaml vs run_glue.py / run_qa.py-style Trainer (target >= 1.0)."""
    from scripts.bench import throughput_vs_plain_trainer as t

    steps, batch, max_length, stride = THROUGHPUT_STEPS, 32, 128, 32
    with tempfile.TemporaryDirectory() as tmp:
        pairs = {
            "polarity, recipes/glue.yaml vs run_glue.py-style": (
                t.recipe_pipeline(steps, batch, max_length, f"{tmp}/glue"),
                t.plain_trainer(steps, batch, max_length, f"{tmp}/glue_plain")),
            "WordNet QA, recipes/squad.yaml vs run_qa.py-style": (
                t.recipe_qa_pipeline(steps, batch, max_length, stride, f"{tmp}/qa"),
                t.plain_qa_trainer(steps, batch, max_length, stride, f"{tmp}/qa_plain")),
        }
    rows = ["| task | recipe samples/s | plain Trainer samples/s | ratio recipe / plain |", "|---|---|---|---|"]
    rows += [f"| {name} | {ours:.1f} | {plain:.1f} | {ours / plain:.2f} |" for name, (ours, plain) in pairs.items()]
    ratios = [ours / plain for ours, plain in pairs.values()]
    return "\n".join(rows + [
        "", f"all-MiniLM-L6-v2, {steps} training steps each (Trainer's train_samples_per_second, first step included), "
        f"batch {batch}, max length {max_length} (QA doc stride {stride}), seed 42. The plain pipelines pad to max length "
        "with default_data_collator, as run_glue.py / run_qa.py do by default; the recipes pad per batch.",
        f"Target: ratio >= 1.0: **{min(ratios):.2f}** at worst ({'met' if min(ratios) >= 1.0 else 'NOT met'}). "
        "One run each on a shared 2-core CPU: timings move by about 10 % with the load.",
    ])
