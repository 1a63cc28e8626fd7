"""Where the embedded data sets are read from.

Each embedded source lives where its Debian package installs it (``/usr/share/...``). Setting
``HF_REPLEARN_DATA_ROOT`` reads every such path under that folder instead (``$HF_REPLEARN_DATA_ROOT/usr/share/...``),
for a machine that has the files only as a copy, such as a GPU machine that cannot install packages. The
variable is read when a data module is imported, so it must be set before the run starts.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "HF_REPLEARN_DATA_ROOT"


def system_path(path: str) -> Path:
    """``path`` (absolute), or the same path under ``$HF_REPLEARN_DATA_ROOT`` when that is set and not empty."""
    root = os.environ.get(DATA_ROOT_ENV)
    return Path(root) / path.lstrip("/") if root else Path(path)
