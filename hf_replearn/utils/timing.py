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
