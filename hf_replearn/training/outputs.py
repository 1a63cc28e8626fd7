"""Saving model weights so that a crash mid-save never loses the previous ones.

Weights go to a temporary sibling directory and each file is moved into place with ``os.replace``; under
FSDP the full weights are first gathered from every process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hf_replearn.utils.distributed import is_main_process
from hf_replearn.utils.files import apply_umask


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
            if item.is_file():
                apply_umask(item)  # save_pretrained writes with the default mode; keep it explicit
            target = output_dir / item.name
            if target.is_dir() and not item.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
