import atexit
import os
import shutil
import tempfile

import pytest

# Tests never reach a model hub; anything that tries fails fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Nor read the user's caches: a GLUE task or a model cached there would be found by the tests that expect an offline
# miss. One empty hub and datasets cache for the session (set before huggingface_hub and datasets read them).
_CACHE = tempfile.mkdtemp(prefix="hf_replearn_tests_cache_")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = os.path.join(_CACHE, "hub")
os.environ["HF_DATASETS_CACHE"] = os.path.join(_CACHE, "datasets")
# and this toolkit's own (cached features; the convolution weight-gradient choices, shared by the session's
# processes so that a run here and its twin in a subprocess choose alike)
os.environ["HF_REPLEARN_CACHE"] = os.path.join(_CACHE, "hf_replearn")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Every model in the tests is tiny: one intra-op thread beats two that spin against each other (and
# against a second process) on a 2-core machine; measured many times faster here under load.
# Through OMP_NUM_THREADS, which the CLI's thread policy respects: otherwise the first in-process `main(...)`
# would choose from the load average of that moment and set it for the rest of the session, and the resume
# tests, which compare a run in this process bit for bit with one in a one-thread subprocess, would pass or
# fail with the load (two threads sum in another order).
os.environ["OMP_NUM_THREADS"] = "1"
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def free_port() -> int:
    """A free TCP port on 127.0.0.1, for tests that start process groups or servers."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _seed():
    from transformers import set_seed

    set_seed(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skipped test fails: a skip there means CI lacks something the tests need
    (scripts/setup.sh installs every package the skips name)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must have everything the tests need: {report.longrepr}"
