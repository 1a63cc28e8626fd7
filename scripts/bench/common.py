"""The benchmark registry shared by scripts/bench/run.py and the bench_* modules."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY: dict = {}


def benchmark(name: str):
    def decorator(fn):
        REGISTRY[name] = fn
        return fn

    return decorator
