"""The commit body reader on its own: any split of the body into pieces gives the same items and blobs."""

from __future__ import annotations

import base64
import hashlib
import json
import random

import pytest

from hf_replearn.hub.store import HubError, Store, git_blob_oid
from hf_replearn.hub.upload import Base64Decoder, CommitBodyReader, read_commit


def pieces_of(data: bytes, rng: random.Random, largest: int = 50):
    pos = 0
    while pos < len(data):
        step = rng.randint(1, largest)
        yield data[pos:pos + step]
        pos += step


def ndjson(*items) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)  # as huggingface_hub writes it


def file_line(path: str, content: bytes) -> dict:
    # huggingface_hub's key order: content first, then path and encoding
    return {"key": "file", "value": {"content": base64.b64encode(content).decode(), "path": path,
                                     "encoding": "base64"}}


def blob(content: bytes) -> dict:
    return {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "oid": git_blob_oid(content)}


@pytest.mark.parametrize("seed", range(5))
def test_base64_decoder_matches_b64decode_for_any_split(seed):
    rng = random.Random(seed)
    for length in (0, 1, 2, 3, 4, 5, 100, 1001):
        raw = rng.randbytes(length)
        out = bytearray()
        decoder = Base64Decoder(out.extend)
        for piece in pieces_of(base64.b64encode(raw), rng, largest=7):
            decoder.feed(piece)
        decoder.close()
        assert bytes(out) == raw


@pytest.mark.parametrize("text", [b"QQ=", b"QQ==QUJD", b"QU JD", b"QUJ\n", b"Q===", b"=QUJ", b"QU-_"])
def test_base64_decoder_refuses_what_b64decode_validate_refuses(text):
    with pytest.raises(ValueError):
        base64.b64decode(text, validate=True)
    for split in range(len(text) + 1):
        decoder = Base64Decoder(lambda data: None)
        with pytest.raises(ValueError):
            decoder.feed(text[:split])
            decoder.feed(text[split:])
            decoder.close()


@pytest.mark.parametrize("seed", range(4))
def test_huggingface_hub_payload_in_random_pieces(tmp_path, seed):
    from huggingface_hub._commit_api import CommitOperationAdd, CommitOperationDelete, _prepare_commit_payload

    rng = random.Random(seed)
    contents = {"a.txt": b"hello", "w/model.bin": rng.randbytes(3000), "empty": b"",
                'q"uote/"content".txt': b"x/y"}  # a key-like string inside a path
    operations = []
    for path, content in contents.items():
        op = CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)
        op._upload_mode = "regular"
        operations.append(op)
    operations.append(CommitOperationDelete(path_in_repo="old/", is_folder=True))
    body = ndjson(*_prepare_commit_payload(operations, {}, "add files", "the description", "ab" * 20))

    store = Store(tmp_path)
    header, ops = read_commit(pieces_of(body, rng), store)
    assert header == {"summary": "add files", "description": "the description", "parentCommit": "ab" * 20}
    assert ops == [("add", path, blob(content)) for path, content in contents.items()] + [
        ("delete_folder", "old", None)]
    for path, content in contents.items():
        assert store.blob_path(hashlib.sha256(content).hexdigest()).read_bytes() == content
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []


def test_any_key_order_spacing_and_escaped_slashes(tmp_path):
    content = bytes(range(256)) * 3  # its base64 has '/' and '+'
    text = base64.b64encode(content).decode().replace("/", "\\/")  # '\/' as some JSON writers escape '/'
    body = (b'{"key":"header","value":{"summary":"s"}}\r\n'
            b'{ "value" : { "path" : "p.bin" , "encoding":"base64", "content" : "' + text.encode() + b'" },'
            b' "key" : "file" }\n\n'
            b'{"key": "file", "value": {"path": "content", "content": "Y29udGVudA=="}}')  # no final newline
    for largest in (1, 3, 1000):
        header, ops = read_commit(pieces_of(body, random.Random(0), largest), Store(tmp_path))
        assert header == {"summary": "s"}
        assert ops == [("add", "p.bin", blob(content)), ("add", "content", blob(b"content"))]


def test_a_large_file_line_is_never_kept_whole(tmp_path, monkeypatch):
    """Only the small fields are kept: the reader's kept buffer stays tiny while 1 MB of content passes."""
    content = random.Random(1).randbytes(1024 * 1024)
    body = ndjson({"key": "header", "value": {"summary": "s"}}, file_line("big.bin", content))
    reader = CommitBodyReader(Store(tmp_path), max_line=200)
    items = []
    for piece in pieces_of(body, random.Random(2), largest=64 * 1024):
        items += reader.feed(piece)
        assert len(reader._kept) <= 200
    items += reader.finish()
    assert items[1] == (2, {"key": "file", "value": {"content": None, "path": "big.bin", "encoding": "base64"}},
                        [blob(content)])


@pytest.mark.parametrize("body, message", [
    (ndjson(file_line("a", b"xyz" * 9))[:60], "ends inside a file's content"),
    (b'{"key":"file","value":{"content":"QQ=","path":"a"}}', "not base64"),
    (b'{"key":"file","value":{"content":"QU\\nJD","path":"a"}}', "not base64"),
    (b'{"key":"file","value":{"path":"a","content":"QUJD","extra":{"content":"QUJD"}}}', "one base64 'content'"),
    (b'{"key":"file","value":{"path":"a","content":5}}', "one base64 'content'"),
    (b'{"key":"file","value":{"path":"a"}}', "one base64 'content'"),
    (b'{"key":"header","value":{"summary":"s","content":"QUJD"}}', "only a 'file' line"),
    (b'{"key":"file","value":{"path":"../x","content":"QUJD"}}', "invalid file path"),
    (b'{"key":"file"', "not a {key, value} JSON object"),
    (b'["key", "value"]', "not a {key, value} JSON object"),
    (b'{"key":"file","value":{"path":"' + b"p" * 300 + b'"}}', "more than 200 bytes"),
    (b'{"key":"copy","value":{}}', "unknown key 'copy'"),
])
def test_bad_lines_are_400_and_leave_no_part_file(tmp_path, body, message):
    body = b'{"key":"header","value":{"summary":"s"}}\n' + body
    with pytest.raises(HubError) as err:
        read_commit(pieces_of(body, random.Random(0), 5), Store(tmp_path), max_line=200)
    assert err.value.status == 400
    assert message in err.value.message
    assert "line 2" in err.value.message or "invalid file path" in err.value.message
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []
