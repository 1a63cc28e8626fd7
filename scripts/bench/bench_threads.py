"""The CLI's thread policy on a shared machine: each command alone, then beside a second copy of itself.

    python scripts/bench/run.py threads_shared

Three commands from the README (the quickstart for 30 steps, ``clm_gpt2`` for 20 steps, the few-shot command on a
briefly trained ``clm_incontext`` model), each timed alone and as two copies started together, under two
policies: torch's default (every core, OpenMP threads spinning: ``OMP_NUM_THREADS`` = cores and
``OMP_WAIT_POLICY=ACTIVE``) and the CLI's (no thread variables set: free cores by load average, passive
wait). Slowdown = mean wall time of the two copies / wall time alone; fair sharing of the cores gives about
cores-needed / cores-free, at most 2 here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench.common import ROOT, benchmark

CLI = [sys.executable, "-m", "hf_replearn"]


def _commands(tmp: Path) -> dict[str, list[str]]:
    return {
        "quickstart (30 steps)": [*CLI, "train", "recipes/quickstart.yaml", "max_steps=30", "overwrite_output_dir=true",
                                 "disable_tqdm=true"],
        "clm_gpt2 (20 steps)": [*CLI, "train", "recipes/clm_gpt2.yaml", "max_steps=20", "overwrite_output_dir=true",
                                "disable_tqdm=true"],
        "fewshot (README)": [*CLI, "fewshot", "--model", str(tmp / "clm_incontext"), "--task",
                             "recipes/fewshot/incontext_binary.yaml", "--shots", "0,1,4,8", "--seeds", "3",
                             "--overwrite-output-dir"],
    }


def _env(policy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    if policy == "torch default":
        env.update(OMP_NUM_THREADS=str(len(os.sched_getaffinity(0))), OMP_WAIT_POLICY="ACTIVE")
    return env


def _timed(commands: list[list[str]], env: dict[str, str]) -> list[float]:
    """Start every command at once; wall seconds of each (a failure raises with its stderr)."""
    start = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in commands]
    walls = []
    for proc, command in zip(procs, commands):
        _, err = proc.communicate()
        walls.append(time.perf_counter() - start)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{err[-2000:]}")
    return walls


def _with_output(command: list[str], out: Path) -> list[str]:
    if command[3] == "fewshot":
        return [*command, "--output-dir", str(out)]
    return [*command, f"training.output_dir={out}"]


def _settle(seconds: float = 20.0, below: float = 1.0) -> float:
    """Wait (up to ``seconds``) for the 1-minute load average to fall, so each run starts on a quiet machine."""
    deadline = time.time() + seconds
    while os.getloadavg()[0] > below and time.time() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


@benchmark("threads_shared")
def threads_shared() -> str:
    """Each README command alone and beside a copy of itself: torch's default threads vs the CLI's policy."""
    rows = ["| command | policy | alone (s) | two copies (s each) | slowdown |", "|---|---|---:|---:|---:|"]
    # BENCH_THREADS_COMMANDS=quickstart,clm_gpt2,fewshot picks commands by their first word (default: all)
    chosen = [c for c in os.environ.get("BENCH_THREADS_COMMANDS", "").split(",") if c]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        commands = {name: c for name, c in _commands(tmp).items() if not chosen or name.split()[0] in chosen}
        setup = [*CLI, "train", "recipes/clm_incontext.yaml", "max_steps=200", f"training.output_dir={tmp / 'clm_incontext'}",
                 "disable_tqdm=true", "fewshot.tasks=[recipes/fewshot/incontext_binary.yaml]", "fewshot.shots=[0]", "fewshot.seeds=1"]
        if any(c[3] == "fewshot" for c in commands.values()):  # the few-shot command needs a trained model
            _timed([setup], _env("policy"))
        for name, command in commands.items():
            for policy in ("torch default", "policy"):
                env = _env(policy)
                _settle()
                alone = _timed([_with_output(command, tmp / "a")], env)[0]
                _settle()
                pair = _timed([_with_output(command, tmp / "b"), _with_output(command, tmp / "c")], env)
                mean = sum(pair) / 2
                label = "CLI (load average, passive wait)" if policy == "policy" else "torch default (all cores, spin)"
                rows.append(f"| {name} | {label} | {alone:.1f} | {pair[0]:.1f} / {pair[1]:.1f} | {mean / alone:.2f}x |")
                print(rows[-1], flush=True)  # a long run shows its rows as they come
    return "\n".join(rows + ["", f"{len(os.sched_getaffinity(0))} cores. Before each timing the bench waits up to "
                             "20 s for the 1-minute load average to fall below 1.0."])
