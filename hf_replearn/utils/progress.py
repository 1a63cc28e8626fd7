"""One line per long step, with its elapsed time: ``with stage("probe", "12 feature sets"): ...`` prints

    [probe] 12 feature sets ...
    [probe] done in 12.3 s

Steps that run longer than a few seconds without a progress bar of their own (corpus synthesis, feature
extraction, probes, few-shot evaluation) go through it, so a run never sits silent for minutes. Printed on
stdout, flushed, on every process that runs the step (the probes run on the main process only).
"""

from __future__ import annotations

import time
from contextlib import contextmanager


@contextmanager
def stage(name: str, what: str = ""):
    print(f"[{name}] {what + ' ' if what else ''}...", flush=True)
    start = time.perf_counter()
    yield
    print(f"[{name}] done in {time.perf_counter() - start:.1f} s", flush=True)
