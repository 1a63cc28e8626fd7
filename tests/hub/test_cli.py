"""``hub serve`` as a real process: it listens, takes a push from huggingface_hub, and stops on SIGTERM."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import huggingface_hub as hh
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_serve_process_accepts_uploads_and_exits(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    (tmp_path / "tokens").write_text("# team\ns3cret\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hf_replearn.hub.cli", "serve", "--root", str(tmp_path / "root"), "--port", "0",
         "--token-file", str(tmp_path / "tokens")],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stderr.readline()  # "hub serving ROOT at http://127.0.0.1:PORT; ..."
        url = re.search(r"at (http://127\.0\.0\.1:\d+)", line).group(1)
        api = hh.HfApi(endpoint=url, token="s3cret")
        api.create_repo("team/cli")
        api.upload_file(path_or_fileobj=b"hello", path_in_repo="a/b.txt", repo_id="team/cli")
        got = hh.hf_hub_download("team/cli", "a/b.txt", endpoint=url, cache_dir=tmp_path / "cache")
        assert Path(got).read_bytes() == b"hello"
        assert (tmp_path / "root" / "repos" / "model" / "team" / "cli" / "refs" / "main").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
    assert proc.returncode is not None


def test_serve_without_a_token_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HF_REPLEARN_HUB_TOKEN"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    out = subprocess.run([sys.executable, "-m", "hf_replearn.hub.cli", "serve", "--root", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert "needs a write token: pass --token" in out.stderr


@pytest.mark.parametrize("flags, message", [
    (["--port", "70000"], "--port 70000: pass a TCP port from 1 to 65535"),
    (["--max-body-mb", "0"], "--max-body-mb 0: pass at least 1"),
    (["--root", "/proc/no-such-root"], "--root /proc/no-such-root: cannot create it"),
])
def test_serve_refuses_bad_flags_before_it_binds(tmp_path, flags, message):
    root = ["--root", str(tmp_path / "root")] if "--root" not in flags else []
    out = subprocess.run([sys.executable, "-m", "hf_replearn.hub.cli", "serve", "--token", "t", *root, *flags],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=60)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "root").exists()
