"""Fixtures: a local hub server on 127.0.0.1 in a thread, and huggingface_hub pointed at it."""

from __future__ import annotations

import contextlib
import os

import pytest

from hf_replearn.hub.server import HubServer

TOKEN = "test-token-123"


@contextlib.contextmanager
def point_hub_at(endpoint: str, cache_dir):
    """Point huggingface_hub (and transformers, which reads its constants) at ``endpoint``.

    huggingface_hub reads HF_ENDPOINT once at import time, into ``constants`` and the module-level
    ``HfApi`` behind ``huggingface_hub.create_repo`` etc., so those are patched as well; transformers
    keeps its own ``HfApi`` (made on first use), which is dropped so it is made again for ``endpoint``.
    """
    import transformers.utils.hub
    from huggingface_hub import constants, hf_api

    saved = (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE, constants.HF_URL_HOSTS,
             hf_api.api.endpoint, constants.HF_HUB_CACHE)
    env = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_DISABLE_TELEMETRY")}
    constants.ENDPOINT = endpoint
    constants.HUGGINGFACE_CO_URL_TEMPLATE = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    constants.HF_URL_HOSTS = constants.HF_URL_HOSTS | {"127.0.0.1"}
    constants.HF_HUB_CACHE = str(cache_dir)
    hf_api.api.endpoint = endpoint
    transformers.utils.hub._hf_api = None
    os.environ.update(HF_ENDPOINT=endpoint, HF_TOKEN=TOKEN, HF_HUB_DISABLE_TELEMETRY="1")
    try:
        yield
    finally:
        (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE, constants.HF_URL_HOSTS,
         hf_api.api.endpoint, constants.HF_HUB_CACHE) = saved
        transformers.utils.hub._hf_api = None
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def _online_for_local_servers(monkeypatch):
    """tests/conftest.py sets HF_HUB_OFFLINE=1 so no test reaches a real hub; the tests here talk only to
    servers they start on 127.0.0.1, so huggingface_hub's offline switch (read at import) is lifted."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")


@pytest.fixture
def hub(tmp_path):
    """A running server (root ``tmp_path/root``) with huggingface_hub pointed at it; stopped afterwards."""
    server = HubServer(tmp_path / "root", tokens=[TOKEN], host="127.0.0.1", port=0)
    server.start_in_thread()
    try:
        with point_hub_at(server.url, tmp_path / "cache"):
            yield server
    finally:
        server.stop()
