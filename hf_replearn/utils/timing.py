"""Timing a call for a choice between two ways of computing the same thing (``training/conv_weight_grad.py``,
``evaluation/fast_inference.py``)."""

from __future__ import annotations

import time
from typing import Callable


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """The shortest of ``repeats`` timed calls of ``fn``, after one untimed call (allocations, kernel creation)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def best_seconds_interleaved(first: Callable[[], object], second: Callable[[], object], repeats: int) -> tuple[float, float]:
    """The shortest of ``repeats`` timed calls of each, the two called in turn (after one untimed call each), so
    that a burst of load elsewhere on the machine slows both rather than the one timed while it lasted."""
    first(), second()
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, fn in enumerate((first, second)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best[0], best[1]
