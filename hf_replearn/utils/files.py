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


def cache_dir(kind: str) -> Path:
    """Where this toolkit keeps what it computed once for later runs: ``$HF_REPLEARN_CACHE/<kind>``, by default
    ``~/.cache/hf_replearn/<kind>``."""
    return Path(os.environ.get("HF_REPLEARN_CACHE", Path.home() / ".cache" / "hf_replearn")) / kind


TRAIN_SYNTAX = ("output_dir=<a new directory>", "overwrite_output_dir=true", "resume_from_checkpoint=true")


def prepare_output_dir(path: Path, overwrite: bool = False, resuming: bool = False,
                       syntax: tuple[str, str, str | None] = TRAIN_SYNTAX) -> Path:
    """Refuse an output directory that holds another run, else create it.

    ``syntax`` is how the calling command spells (a new directory, overwrite, resume; ``None``: the command
    cannot resume), so the hint names options the user can type: ``hf-replearn fewshot`` passes
    ``("--output-dir DIR", "--overwrite-output-dir", None)``.
    """
    check_output_dir(path, overwrite, resuming, syntax)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_output_dir(path: Path, overwrite: bool = False, resuming: bool = False,
                     syntax: tuple[str, str, str | None] = TRAIN_SYNTAX) -> None:
    """:func:`prepare_output_dir`'s checks alone: nothing is created."""
    path = Path(path)
    new_dir, overwrite_flag, resume_flag = syntax
    if path.exists() and not path.is_dir():
        raise UserError(f"output directory {path} is a file; pass {new_dir}")
    if path.is_dir() and any(path.iterdir()) and not (overwrite or resuming):
        names = sorted(p.name for p in path.iterdir())
        resume = f", or {resume_flag} to continue it" if resume_flag else ""
        raise UserError(
            f"output directory {path} already holds another run ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}); "
            f"pass {new_dir}, {overwrite_flag} to replace it{resume}"
        )


def remove_empty_dirs(path: Path) -> None:
    """Remove ``path`` and the folders under it if they hold no file (a run refused before writing)."""
    path = Path(path)
    if not path.is_dir():
        return
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            sub.rmdir()
        except OSError:  # holds a file: keep it
            pass
    try:
        path.rmdir()
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


def apply_umask(path: Path, mode: int = 0o666) -> None:
    """Give ``path`` the mode a plain ``open()`` would (``mode`` less the umask): mkstemp makes files 0600."""
    os.chmod(path, mode & ~_umask())


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
        apply_umask(tmp)  # readable like any other file the user writes (0644 under the usual umask 022)
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
