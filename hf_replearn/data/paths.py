"""Where data sets are read from: the embedded ones, and any through ``datasets.load_dataset``.

Each embedded source lives where its Debian package installs it (``/usr/share/...``). Setting
``HF_REPLEARN_DATA_ROOT`` reads every such path under that folder instead (``$HF_REPLEARN_DATA_ROOT/usr/share/...``),
for a machine that has the files only as a copy, such as a GPU machine that cannot install packages. The
variable is read when a data module is imported, so it must be set before the run starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from hf_replearn.errors import explained

DATA_ROOT_ENV = "HF_REPLEARN_DATA_ROOT"


def system_path(path: str) -> Path:
    """``path`` (absolute), or the same path under ``$HF_REPLEARN_DATA_ROOT`` when that is set and not empty."""
    root = os.environ.get(DATA_ROOT_ENV)
    return Path(root) / path.lstrip("/") if root else Path(path)


def load_dataset_or_explain(*args, what: str, fix: str, **kwargs):
    """``datasets.load_dataset(*args, **kwargs)``; any failure is a UserError reading ``what``, the error and ``fix``:
    datasets raises many types for a name it cannot find, a Hub it cannot reach (offline) or files it cannot read,
    and the user's fix is the same."""
    import datasets

    return explained(lambda: datasets.load_dataset(*args, **kwargs),
                     lambda err: f"{what} ({type(err).__name__}: {str(err)[:300]}); {fix}")
