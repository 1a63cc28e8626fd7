"""A 200 MB upload through huggingface_hub to ``hub serve`` (a real process) raises its peak memory by less
than 64 MB: the commit body (base64, 267 MB) is decoded to disk in pieces, never held whole."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import huggingface_hub as hh
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = 200 * 1024 * 1024
MAX_GROWTH_KB = 64 * 1024


def memory_kb(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) for key in ("VmRSS", "VmHWM")}


def digests(path: Path) -> tuple[str, str]:
    """(sha256, git blob oid) of a file, read in pieces."""
    sha256, git = hashlib.sha256(), hashlib.sha1(b"blob %d\x00" % path.stat().st_size)
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha256.update(chunk)
            git.update(chunk)
    return sha256.hexdigest(), git.hexdigest()


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to read peak memory")
def test_200mb_upload_keeps_server_peak_memory_under_64mb_above_idle(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:  # random bytes: no compression or dedup can help anywhere
        for _ in range(SIZE // (8 * 1024 * 1024)):
            handle.write(os.urandom(8 * 1024 * 1024))
    expected = digests(big)

    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hf_replearn.hub.cli", "serve", "--root", str(tmp_path / "root"), "--port", "0",
         "--token", "s3cret"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        url = re.search(r"at (http://127\.0\.0\.1:\d+)", proc.stderr.readline()).group(1)
        api = hh.HfApi(endpoint=url, token="s3cret")
        api.create_repo("team/big")
        # Warm up every code path once (imports, first commit, first download) before taking the idle level.
        api.upload_file(path_or_fileobj=b"warm", path_in_repo="warm.txt", repo_id="team/big")
        hh.hf_hub_download("team/big", "warm.txt", endpoint=url, cache_dir=tmp_path / "cache")

        Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # resets VmHWM (peak RSS) to the current RSS
        idle = memory_kb(proc.pid)
        assert idle["VmHWM"] - idle["VmRSS"] < 1024, idle  # the reset took effect

        info = api.upload_file(path_or_fileobj=str(big), path_in_repo="weights/big.bin", repo_id="team/big")
        big.unlink()  # 200 MB less on disk while downloading
        got = Path(hh.hf_hub_download("team/big", "weights/big.bin", revision=info.oid, endpoint=url,
                                      cache_dir=tmp_path / "cache"))
        peak = memory_kb(proc.pid)["VmHWM"]
        assert peak - idle["VmRSS"] < MAX_GROWTH_KB, f"server peak {peak} kB vs idle {idle['VmRSS']} kB"
        assert got.stat().st_size == SIZE
        assert digests(got) == expected
        entry = {e.path: e for e in api.list_repo_tree("team/big", recursive=True)}["weights/big.bin"]
        assert (entry.size, entry.blob_id) == (SIZE, expected[1])
        assert not list((tmp_path / "root" / "objects" / "tmp").iterdir())  # no part file left behind
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
