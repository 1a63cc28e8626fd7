"""What a timing chose on this machine, kept for its later runs.

Where this toolkit picks between two ways of computing the same thing by timing both (the convolution weight
gradients in ``training/conv_weight_grad.py``, the packed linear weights in ``evaluation/fast_inference.py``), the
two ways round differently, and near a tie the winner changes with the load of the moment: two runs of one seed, or
a resumed run and the run it continues, would differ. So a timing is made once per machine (its CPU model, torch's
version and thread count) and kept in ``$HF_REPLEARN_CACHE/<kind>/choices.json`` (default ``~/.cache/hf_replearn``),
under a file lock that processes starting together share (one timing while another runs would skew both); every
later run reads it. Where the file cannot be written, a process times for itself.
"""

from __future__ import annotations

import functools
import json
import platform
from pathlib import Path
from typing import Callable, TypeVar

from hf_replearn.utils.files import atomic_write_text, cache_dir

T = TypeVar("T")


@functools.cache
def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine() -> str:
    """What timings depend on besides the call timed: the CPU model, torch's version and its thread count."""
    import torch

    return f"{_cpu()}; torch {torch.__version__}; {torch.get_num_threads()} thread(s)"


def choices_file(kind: str) -> Path:
    return cache_dir(kind) / "choices.json"


def _read(path: Path) -> dict:
    try:
        choices = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or not this file's format: timed again and rewritten
        return {}
    return choices if isinstance(choices, dict) else {}


def remembered(kind: str, key: str, compute: Callable[[], T], valid: Callable[[object], bool]) -> T:
    """This machine's value for ``key`` in ``kind``'s file when there is one that is ``valid``, else ``compute()``,
    added to the file."""
    from filelock import FileLock, Timeout

    path, here = choices_file(kind), machine()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock", timeout=600):
            choices = _read(path)
            known = choices.get(here)
            if not isinstance(known, dict):
                known = choices[here] = {}
            if not valid(known.get(key)):
                known[key] = compute()
                atomic_write_text(path, json.dumps(choices, indent=1, sort_keys=True) + "\n")
            return known[key]
    except (OSError, Timeout):
        return compute()
