"""Output directories that never lose a good run.

- A directory that already holds files is refused unless the user says ``overwrite_output_dir=true``
  or resumes from one of its checkpoints.
- Files are written to a temporary name in the same directory and moved into place with ``os.replace``
  (atomic on POSIX), so a crash mid-write leaves the previous file intact.
- ``results.json`` is one flat object of metric names to numbers, written atomically.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from hf_replearn.errors import UserError

RESULTS_FILE = "results.json"


def prepare_output_dir(path: Path, overwrite: bool = False, resuming: bool = False) -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"output_dir {path} is a file; pass output_dir=<a directory>")
    if path.is_dir() and any(path.iterdir()) and not (overwrite or resuming):
        raise UserError(
            f"output_dir {path} already holds another run ({', '.join(sorted(p.name for p in path.iterdir())[:5])}"
            f"{', ...' if len(list(path.iterdir())) > 5 else ''}); pass output_dir=<a new directory>, "
            "overwrite_output_dir=true to replace it, or resume_from_checkpoint=true to continue it"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then ``os.replace`` it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_results(output_dir: Path, results: dict) -> Path:
    """Write ``results.json``: one flat object of metric names to finite numbers."""
    flat = {}
    for key, value in results.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"results[{key!r}] = {value!r} is not a number")
        flat[key] = None if isinstance(value, float) and not math.isfinite(value) else value
    path = Path(output_dir) / RESULTS_FILE
    atomic_write_text(path, json.dumps(flat, indent=2, sort_keys=True) + "\n")
    return path
