"""The server's guards: a warning for a non-loopback bind, 500s that show only a request id, a bound on
concurrent requests, and blob oids read from the store's records instead of hashing blobs again."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading

import huggingface_hub as hh
import pytest

from conftest import TOKEN
from hf_replearn.hub import store as store_module
from hf_replearn.hub.server import HubServer
from test_server import request


@pytest.mark.parametrize("host, warns", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_a_non_loopback_bind_warns_that_tokens_travel_in_clear(tmp_path, caplog, host, warns):
    with caplog.at_level(logging.WARNING, logger="hf_replearn.hub.server"):
        server = HubServer(tmp_path / "root", tokens=[TOKEN], host=host, port=0)
        server.server_close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if warns:
        assert len(warnings) == 1 and "in clear" in warnings[0] and "TLS proxy" in warnings[0]
        assert f":{server.server_address[1]}" in warnings[0]
    else:
        assert warnings == []


def test_a_500_sends_only_a_request_id_that_the_server_log_holds(hub, caplog, monkeypatch):
    hh.create_repo("team/x")

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /srv/hub/objects")

    monkeypatch.setattr(hub.store, "history", broken)
    with caplog.at_level(logging.ERROR, logger="hf_replearn.hub.server"):
        status, headers, body = request(hub, "GET", "/api/models/team/x/commits/main")
    assert status == 500
    request_id = headers["X-Request-Id"]
    assert len(request_id) == 16
    assert json.loads(body) == {"error": "internal server error; the server log has the details under "
                                         f"request id {request_id}"}
    assert "secret" not in body.decode() and "RuntimeError" not in body.decode()
    assert not any("secret" in value for value in headers.values())
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert request_id in record.getMessage() and "/api/models/team/x/commits/main" in record.getMessage()
    assert record.exc_info[0] is RuntimeError  # the traceback is in the log
    # Each request gets its own id; the server keeps answering.
    status, headers, _ = request(hub, "GET", "/api/models/team/x")
    assert status == 200 and headers["X-Request-Id"] != request_id


def test_requests_beyond_the_bound_wait_briefly_then_get_503(tmp_path, monkeypatch):
    server = HubServer(tmp_path / "root", tokens=[TOKEN], max_concurrent=1, queue_wait_s=0.2)
    server.start_in_thread()
    try:
        server.store.create_repo("model", "team/slow", private=False, author="a")
        inside, release = threading.Event(), threading.Event()
        repo_meta = server.store.repo_meta

        def slow_repo_meta(repo_type, repo_id):
            if repo_id == "team/slow":
                inside.set()
                assert release.wait(10)
            return repo_meta(repo_type, repo_id)

        monkeypatch.setattr(server.store, "repo_meta", slow_repo_meta)
        answers = []
        holder = threading.Thread(target=lambda: answers.append(request(server, "GET", "/api/models/team/slow")))
        holder.start()
        assert inside.wait(10)  # the one slot is taken
        status, headers, body = request(server, "GET", "/api/whoami-v2")
        assert (status, headers["Retry-After"]) == (503, "1")
        assert "busy" in json.loads(body)["error"]

        server.queue_wait_s = 10  # a request that finds the slot freed within its wait is served
        threading.Timer(0.3, release.set).start()
        assert request(server, "GET", "/api/whoami-v2")[0] == 200
        holder.join(10)
        assert answers[0][0] == 200
    finally:
        release.set()
        server.stop()


def test_oids_come_from_the_blob_records_not_from_hashing_blobs(hub, monkeypatch):
    content = b"weights " * 1000
    hh.create_repo("team/oid")
    hh.upload_file(path_or_fileobj=content, path_in_repo="w.bin", repo_id="team/oid")
    sha256, oid = hashlib.sha256(content).hexdigest(), store_module.git_blob_oid(content)
    blob = hub.store.blob_path(sha256)
    assert json.loads(blob.with_name(blob.name + ".json").read_text()) == {"size": len(content), "oid": oid}

    # Overwrite the blob with other bytes of the same size and forbid hashing: every answer still
    # carries the recorded oid, so none of them read the blob to hash it.
    blob.write_bytes(b"x" * len(content))

    def no_hashing(*args, **kwargs):
        raise AssertionError("a blob was hashed again")

    monkeypatch.setattr(store_module, "git_blob_oid_of_file", no_hashing)
    monkeypatch.setattr(store_module, "git_blob_oid", no_hashing)
    [entry] = hh.HfApi().list_repo_tree("team/oid")
    assert (entry.blob_id, entry.size) == (oid, len(content))
    assert hh.HfApi().repo_info("team/oid", files_metadata=True).siblings[0].blob_id == oid
    meta = hh.get_hf_file_metadata(hh.hf_hub_url("team/oid", "w.bin"))  # HEAD
    assert (meta.etag, meta.size) == (oid, len(content))
    # An lfsFile line for contents the server holds: the oid is the recorded one too.
    payload = [{"key": "header", "value": {"summary": "copy"}},
               {"key": "lfsFile", "value": {"path": "copy.bin", "algo": "sha256", "oid": sha256}}]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in payload)
    assert request(hub, "POST", "/api/models/team/oid/commit/main", body)[0] == 200
    tree = {e.path: e.blob_id for e in hh.HfApi().list_repo_tree("team/oid")}
    assert tree == {"w.bin": oid, "copy.bin": oid}


def test_a_bad_commit_is_answered_after_its_body_even_when_the_body_is_large(hub):
    """The error is found in the first line; the rest of the body (larger than socket buffers) is still
    read, so the client, which sends it all before reading, gets the 400 instead of a reset connection."""
    hh.create_repo("team/bad")
    lines = [{"key": "header", "value": {"summary": "s"}},
             {"key": "file", "value": {"content": "QUJD", "path": "../evil"}},
             {"key": "file", "value": {"content": base64.b64encode(b"\0" * 16 * 1024 * 1024).decode(),
                                       "path": "big.bin"}}]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    status, _, answer = request(hub, "POST", "/api/models/team/bad/commit/main", body)
    assert status == 400 and "invalid file path '../evil'" in json.loads(answer)["error"]
    assert [f.rfilename for f in hh.HfApi().repo_info("team/bad").siblings] == []
