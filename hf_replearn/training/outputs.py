"""Output directories that never lose a good run.

- A directory that already holds files is refused unless the user says ``overwrite_output_dir=true``
  or resumes from one of its checkpoints.
- Files are written to a temporary name in the same directory and moved into place with ``os.replace``
  (atomic on POSIX), so a crash mid-write leaves the previous file intact.
"""

from __future__ import annotations

import json
import math
import os
import shutil
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


def full_state_dict(model) -> dict | None:
    """The whole state dict of a model sharded with FSDP2 (``fully_shard``); ``None`` for a model that is not.

    Collective: under FSDP each process holds a shard of every parameter (a DTensor), so every process must
    call this, like ``Accelerator.get_state_dict`` and Trainer's ``save_model`` do. The full tensors land on
    the CPU of rank 0; the other processes get ``{}``.
    """
    from torch.distributed.fsdp import FSDPModule

    if not any(isinstance(module, FSDPModule) for module in model.modules()):
        return None
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def save_model_atomically(model, output_dir: Path, **kwargs) -> None:
    """``save_pretrained`` into a temporary sibling directory, then move each file into place.

    A crash before the moves leaves the previous weights untouched; each move is atomic. Under several
    processes only the main one writes. With DDP the others hold the same weights and return at once; under
    FSDP every process must call this, since each holds a shard and the full weights are gathered from all
    of them (:func:`full_state_dict`) before the main process writes them; a caller that gathered them
    already passes them as ``state_dict``.
    """
    from hf_replearn.training.distributed import is_main_process

    state_dict = kwargs.pop("state_dict", None)  # already gathered by the caller
    if state_dict is None:
        state_dict = full_state_dict(model)  # every process, before the main-process check: a collective
    if not is_main_process():
        return
    if state_dict is not None:
        kwargs["state_dict"] = state_dict
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output_dir, prefix=".save-"))
    try:
        model.save_pretrained(tmp, **kwargs)
        for item in tmp.iterdir():
            target = output_dir / item.name
            if target.is_dir() and not item.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
