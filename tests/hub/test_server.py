"""The local hub server against the real clients: huggingface_hub and transformers."""

from __future__ import annotations

import base64
import http.client
import json

import huggingface_hub as hh
import pytest
import torch
from huggingface_hub.errors import HfHubHTTPError
from transformers import AutoModel, BertConfig, BertModel

from conftest import TOKEN


def tiny_bert(seed: int) -> BertModel:
    torch.manual_seed(seed)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                        vocab_size=99, max_position_embeddings=64)
    return BertModel(config)


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def request(server, method, path, body=None, token=TOKEN, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def commit_payload(path: str, content: bytes) -> bytes:
    lines = [{"key": "header", "value": {"summary": "evil"}},
             {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(),
                                       "encoding": "base64"}}]
    return b"".join(json.dumps(x).encode() + b"\n" for x in lines)


def test_upload_folder_then_from_pretrained_round_trips_exactly(hub, tmp_path):
    model = tiny_bert(0)
    model.save_pretrained(tmp_path / "v1")
    url = hh.create_repo("team/tiny")
    assert url == f"{hub.url}/team/tiny"
    first = hh.upload_folder(repo_id="team/tiny", folder_path=tmp_path / "v1")

    loaded = AutoModel.from_pretrained("team/tiny")
    assert_same_weights(model, loaded)

    # A second push is a new commit; main moves to it, the first commit stays downloadable by id.
    newer = tiny_bert(1)
    second = newer.push_to_hub("team/tiny", commit_message="second weights")
    assert second.oid != first.oid and len(second.oid) == 40
    assert hh.HfApi().repo_info("team/tiny").sha == second.oid
    assert_same_weights(newer, AutoModel.from_pretrained("team/tiny"))
    assert_same_weights(model, AutoModel.from_pretrained("team/tiny", revision=first.oid))
    commits = hh.HfApi().list_repo_commits("team/tiny")
    assert [c.commit_id for c in commits][:2] == [second.oid, first.oid]
    assert [c.title for c in commits] == ["second weights", "Upload folder using huggingface_hub", "initial commit"]


def test_snapshot_download_tree_and_dataset_repo(hub, tmp_path):
    hh.create_repo("team/data", repo_type="dataset")
    hh.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="train/part-0.csv", repo_id="team/data",
                   repo_type="dataset")
    hh.upload_file(path_or_fileobj=b"{}", path_in_repo="meta.json", repo_id="team/data", repo_type="dataset")
    tree = hh.HfApi().list_repo_tree("team/data", repo_type="dataset", recursive=True)
    assert sorted((e.path, type(e).__name__) for e in tree) == [
        ("meta.json", "RepoFile"), ("train", "RepoFolder"), ("train/part-0.csv", "RepoFile")]
    local = hh.snapshot_download("team/data", repo_type="dataset", local_dir=tmp_path / "snap")
    assert (tmp_path / "snap" / "train" / "part-0.csv").read_bytes() == b"a,b\n1,2\n"
    assert local == str(tmp_path / "snap")
    # Re-uploading an unchanged file makes no new commit.
    before = hh.HfApi().repo_info("team/data", repo_type="dataset").sha
    hh.upload_file(path_or_fileobj=b"{}", path_in_repo="meta.json", repo_id="team/data", repo_type="dataset")
    assert hh.HfApi().repo_info("team/data", repo_type="dataset").sha == before
    with pytest.raises(hh.errors.EntryNotFoundError):
        hh.hf_hub_download("team/data", "missing.txt", repo_type="dataset")
    with pytest.raises(hh.errors.RevisionNotFoundError):
        hh.hf_hub_download("team/data", "meta.json", repo_type="dataset", revision="no-such-branch")


def test_writes_need_a_known_token(hub):
    with pytest.raises(HfHubHTTPError) as err:
        hh.HfApi().create_repo("team/anon", token="wrong-token")
    assert err.value.response.status_code == 401
    hh.create_repo("team/ok")
    for token in (None, "wrong-token"):
        status, _, _ = request(hub, "POST", "/api/models/team/ok/commit/main", commit_payload("x.txt", b"x"),
                               token=token)
        assert status == 401
    assert [f.rfilename for f in hh.HfApi().repo_info("team/ok").siblings] == []
    # Reads of a public repo need no token; a private repo is hidden from anonymous readers.
    assert request(hub, "GET", "/api/models/team/ok", token=None)[0] == 200
    hh.create_repo("team/secret", private=True)
    assert request(hub, "GET", "/api/models/team/secret", token=None)[0] == 401
    assert request(hub, "GET", "/api/models/team/secret")[0] == 200


def test_no_path_outside_root_is_read_or_written(hub, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not serve")
    hh.create_repo("team/safe")
    hh.upload_file(path_or_fileobj=b"ok", path_in_repo="ok.txt", repo_id="team/safe")
    # A symlinked "repo" under root that points out of it.
    (hub.store.root / "repos" / "model" / "team" / "link").symlink_to(outside, target_is_directory=True)
    (outside / "repo.json").write_text('{"private": false, "created": "x"}')

    reads = [
        "/team/safe/resolve/main/../../../outside/secret.txt",
        "/team/safe/resolve/main/..%2F..%2F..%2Foutside%2Fsecret.txt",
        "/team/safe/resolve/main/%2Fetc%2Fpasswd",
        "/team/safe/resolve/main/a%5C..%5Csecret.txt",
        "/team/%2E%2E/resolve/main/secret.txt",
        "/../../outside/resolve/main/secret.txt",
        "/api/models/team/..%2F..%2F..%2Foutside/tree/main",
        "/api/models/team/link/tree/main",
        "/team/link/resolve/main/secret.txt",
        "/api/models/team/safe/tree/main/..%2F..",
        "/team/safe/resolve/..%2F..%2Frepos/ok.txt",
    ]
    for path in reads:
        status, _, body = request(hub, "GET", path)
        assert status in (400, 404), (path, status)
        assert b"do not serve" not in body

    writes = ["../evil.txt", "/abs.txt", "a/../../evil.txt", "dir\\evil.txt", "./x", "a//b"]
    for path in writes:
        status, _, _ = request(hub, "POST", "/api/models/team/safe/commit/main", commit_payload(path, b"evil"))
        assert status == 400, (path, status)
    create = json.dumps({"name": "x", "organization": ".."}).encode()
    assert request(hub, "POST", "/api/repos/create", create)[0] == 400
    create = json.dumps({"name": "../../outside", "organization": "team"}).encode()
    assert request(hub, "POST", "/api/repos/create", create)[0] == 400

    assert sorted(p.name for p in outside.iterdir()) == ["repo.json", "secret.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "root"]
    assert list(tmp_path.rglob("*evil*")) == []
    assert [f.rfilename for f in hh.HfApi().repo_info("team/safe").siblings] == ["ok.txt"]
