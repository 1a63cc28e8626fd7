"""Benchmark harness: runs named benchmarks and writes their tables into BENCHMARKS.md.

    python scripts/bench/run.py --list
    python scripts/bench/run.py simclr_throughput simclr_digits

Each benchmark is a function registered with ``@benchmark(name)`` that returns Markdown. Its section of
BENCHMARKS.md (between ``<!-- bench:NAME -->`` markers) is replaced, headed by the exact command, the
machine and the date, so every number sits beside the command that made it. A new benchmark module is
listed in ``MODULES``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.common import REGISTRY, ROOT  # noqa: E402

BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
MODULES = ["scripts.bench.bench_simclr", "scripts.bench.bench_text", "scripts.bench.bench_word2vec",
           "scripts.bench.bench_images", "scripts.bench.bench_cpc", "scripts.bench.bench_dist",
           "scripts.bench.bench_finetune", "scripts.bench.bench_fewshot", "scripts.bench.fewshot_vs_lmeval",
           "scripts.bench.bench_threads", "scripts.bench.bench_semisup", "scripts.bench.bench_probe_tables",
           "scripts.bench.bench_probe_images", "scripts.bench.bench_minutes", "scripts.bench.bench_model_families"]


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores: {cpu})"
    return f"{device}; torch {torch.__version__}; load average at start {os.getloadavg()[0]:.1f}"


def write_section(name: str, body: str, command: str) -> None:
    header = f"### {name}\n\nCommand: `{command}`  \nMachine: {machine()}  \nDate: {dt.date.today().isoformat()}\n\n"
    block = f"<!-- bench:{name} -->\n{header}{body.strip()}\n<!-- /bench:{name} -->"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n\nEvery table below was written by `scripts/bench/run.py`; rerun its command to refresh it.\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


# Environment variables that change what a benchmark measures: they belong in its recorded command.
SETTINGS = re.compile(r"^(BENCH_\w+|FEWSHOT_BENCH_\w+|CPC_BENCH_\w+|CPC_TABLE2_\w+|OMP_NUM_THREADS|LMEVAL_PYTHON)$")


def command_line(name: str) -> str:
    settings = [f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items()) if SETTINGS.match(k)]
    return " ".join([*settings, f"python scripts/bench/run.py {name}"])


def main(argv=None) -> int:
    for module in MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="benchmarks to run")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    args = parser.parse_args(argv)
    if args.list or not args.names:
        for name, fn in sorted(REGISTRY.items()):
            print(f"{name:28s} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; see --list")
    for name in args.names:
        print(f"== {name}", flush=True)
        body = REGISTRY[name]()
        print(body, flush=True)
        write_section(name, body, command_line(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
