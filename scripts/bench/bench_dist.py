"""Several processes: training throughput of a recipe under ``accelerate launch`` with 2 CPU processes
(gloo) against 1 process, at the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from scripts.bench.common import ROOT, benchmark

RECIPE = "quickstart.yaml"  # SimCLR on digits: NT-Xent gathers the embeddings of both processes
GLOBAL_BATCH, STEPS = 256, 20
OVERRIDES = [f"max_steps={STEPS}", "logging_steps=10", "save_steps=1000", "disable_tqdm=true", "evaluation.seeds=1",
             "evaluation.labels_per_class=[1]", "evaluation.baselines=[]", "evaluation.tsne=false"]  # fmt: skip
# (processes, threads per process): one process on one core, one process on both cores, two on one each
RUNS = [(1, 1), (1, 2), (2, 1)]


def _train(processes: int, threads: int, out: str) -> tuple[dict, float]:
    recipe = [str(ROOT / "recipes" / RECIPE), f"output_dir={out}",
              f"per_device_train_batch_size={GLOBAL_BATCH // processes}", *OVERRIDES]  # fmt: skip
    if processes == 1:
        cmd = [sys.executable, "-m", "hf_replearn", "train", *recipe]
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
               str(ROOT / "recipes" / "accelerate" / "multi_cpu.yaml"), "--num_processes", str(processes),
               "--main_process_port", "29531", "-m", "hf_replearn", "train", *recipe]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    assert results["train/processes"] == processes, results
    return results, wall


@benchmark("dist_throughput")
def dist_throughput() -> str:
    """Training images/s of quickstart (SimCLR) with 2 CPU processes (accelerate launch, gloo) vs 1, same global batch."""
    rows, speed = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for processes, threads in RUNS:
            results, wall = _train(processes, threads, f"{tmp}/p{processes}t{threads}")
            speed[processes, threads] = results["train/samples_per_second"]
            rows.append(f"| {processes} | {GLOBAL_BATCH // processes} | {threads} | {results['train/runtime_s']:.1f} | "
                        f"{speed[processes, threads]:.0f} | {results['train/loss']:.3f} | {wall:.0f} |")
    load = os.getloadavg()[0]
    return "\n".join([
        f"recipes/{RECIPE}, {STEPS} steps at a global batch of {GLOBAL_BATCH} images (16x16): 1 process "
        "(`python -m hf_replearn train`) against 2 processes (`accelerate launch --config_file "
        "recipes/accelerate/multi_cpu.yaml`, gloo), each run with OMP_NUM_THREADS = threads.", "",
        "| processes | per-process batch | threads each | train time (s) | images/s | train loss | wall (s) |",
        "|---|---|---|---|---|---|---|", *rows, "",
        f"Throughput of 2 processes x 1 thread against 1 process x 1 thread: **{speed[2, 1] / speed[1, 1]:.2f}x**; "
        f"against 1 process x 2 threads (the same cores): **{speed[2, 1] / speed[1, 2]:.2f}x**. Wall time adds "
        "start-up (imports, the process group) and the probe. The machine's 2 cores were shared with other "
        f"jobs (load average {load:.1f} at the end), which favours whoever runs more processes and penalises "
        "multi-threaded BLAS (its threads spin-wait); on an idle machine expect the 2-process run near the "
        "2-thread one, less the per-step all-reduce of gradients and all-gather of embeddings. GPU scaling is "
        "not measured here.",
    ])  # fmt: skip
