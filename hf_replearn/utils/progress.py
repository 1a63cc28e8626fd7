"""One line per long step, with its elapsed time: ``with stage("probe", "12 feature sets"): ...`` prints

    [probe] 12 feature sets ...
    [probe] done in 12.3 s

Steps that run longer than a few seconds without a progress bar of their own (corpus synthesis, feature
extraction, probes, few-shot evaluation) go through it, so a run never sits silent for minutes. Printed on
stdout, flushed, on every process that runs the step (the probes run on the main process only).

``batches(n, size, desc)`` steps through a long loop of batches with a tqdm bar (on stderr) that appears only once
the loop has run for :data:`BAR_DELAY_S` seconds: a few-shot run of thousands of documents shows its progress, a
run of forty does not flash a bar.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

BAR_DELAY_S = 5.0


@contextmanager
def stage(name: str, what: str = ""):
    print(f"[{name}] {what + ' ' if what else ''}...", flush=True)
    start = time.perf_counter()
    yield
    print(f"[{name}] done in {time.perf_counter() - start:.1f} s", flush=True)


def batches(n: int, size: int, desc: str | None = None):
    """The start of each batch of ``size`` in ``range(n)``; with ``desc``, behind a delayed tqdm bar."""
    from tqdm.auto import tqdm

    starts = range(0, n, size)
    return tqdm(starts, desc=desc, unit="batch", delay=BAR_DELAY_S, leave=False) if desc else starts
