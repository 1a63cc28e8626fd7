"""Reading a commit request (NDJSON) in bounded memory: file contents go to the store as they arrive.

huggingface_hub sends a commit as one JSON object per line (``json.dumps`` of each, content first)::

    {"key": "header", "value": {"summary": "...", "description": "...", "parentCommit": "..."}}
    {"key": "file", "value": {"content": "<base64 of the whole file>", "path": "a/b.bin", "encoding": "base64"}}
    {"key": "lfsFile", "value": {"path": "...", "algo": "sha256", "oid": "<sha256>", "size": 123}}
    {"key": "deletedFile", "value": {"path": "..."}}      (or "deletedFolder")

A ``file`` line is as long as its file (4/3 of it), so a line is never held whole. :class:`CommitBodyReader`
scans each line once: every string value of a ``"content"`` key is decoded from base64 straight into a
:class:`~hf_replearn.hub.store.BlobWriter` (which hashes it as it goes) and replaced by ``null``; the rest of the
line (the small fields, in any order) is kept and parsed with :mod:`json` when the line ends. Memory per request
is one body piece plus at most ``max_line`` kept bytes, whatever the size of the files. No kept library parses
JSON incrementally while diverting one string value to a file, hence this small scanner.
"""

from __future__ import annotations

import binascii
import contextlib
import itertools
import json
import re
from collections.abc import Callable, Iterable

from hf_replearn.hub.store import HubError, Store, check_file_path

MAX_LINE = 1024 * 1024  # bytes of a line kept outside its "content" values (paths, summary, description)

_B64 = re.compile(rb"[A-Za-z0-9+/]*")
_B64_LAST = re.compile(rb"[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_QUOTE, _BACKSLASH, _COLON, _NEWLINE, _SLASH = b'"'[0], b"\\"[0], b":"[0], b"\n"[0], b"/"[0]
_SPACE = frozenset(b" \t\r")


class Base64Decoder:
    """Decode base64 text given in pieces of any length into ``write``: whole 4-character groups are decoded as
    they arrive, a partial group waits for the next piece. Strict like ``b64decode(validate=True)``: only the
    base64 alphabet, padding only at the very end, length a multiple of 4. Raises ValueError otherwise."""

    def __init__(self, write: Callable[[bytes], object]):
        self._write, self._carry, self._padded = write, b"", False

    def feed(self, text: bytes) -> None:
        if not text:
            return
        if self._padded:
            raise ValueError("base64 text goes on after its '=' padding")
        text = self._carry + text
        cut = len(text) - len(text) % 4
        groups, self._carry = text[:cut], text[cut:]
        if not groups:
            return
        self._padded = groups.endswith(b"=")
        if not (_B64_LAST if self._padded else _B64).fullmatch(groups):
            raise ValueError("a character outside the base64 alphabet, or '=' before the end")
        self._write(binascii.a2b_base64(groups))

    def close(self) -> None:
        if self._carry:
            raise ValueError("base64 text length is not a multiple of 4")


class CommitBodyReader:
    """Split an NDJSON body given in pieces into ``(line number, item, blobs)``: ``item`` is the line's JSON
    object with every ``"content"`` string replaced by ``None``, ``blobs`` the store records (``{"sha256",
    "size", "oid"}``) of those strings, decoded from base64, in order. Raises HubError 400 on a bad line."""

    def __init__(self, store: Store, max_line: int = MAX_LINE):
        self._store, self._max_line = store, max_line
        self.line = 1
        self._kept = bytearray()  # the line so far, "content" strings cut out
        self._blobs: list[dict] = []
        self._in_string = self._escape = False
        self._string_start = 0
        self._after_key = 0  # 1: just read a "content" key, 2: and its ':'; its value is next
        self._writer = self._decoder = None  # while a "content" string is being received
        self._escape_in_content = False

    def feed(self, piece: bytes) -> list[tuple[int, dict, list[dict]]]:
        items, pos = [], 0
        while pos < len(piece):
            if self._writer is not None:
                pos = self._content(piece, pos)
                continue
            byte = piece[pos]
            pos += 1
            if byte == _NEWLINE:  # NDJSON: a raw newline cannot be inside a JSON string, so it ends the line
                items += self._end_line()
            elif self._in_string:
                self._kept.append(byte)
                if self._escape:
                    self._escape = False
                elif byte == _BACKSLASH:
                    self._escape = True
                elif byte == _QUOTE:
                    self._in_string = False
                    self._after_key = 1 if self._kept[self._string_start:] == b'"content"' else 0
            elif self._after_key == 2 and byte == _QUOTE:  # the value of a "content" key: stream it
                self._kept += b"null"
                self._after_key = 0
                self._writer = self._store.blob_writer()
                self._decoder = Base64Decoder(self._writer.write)
            else:
                if byte not in _SPACE:
                    self._after_key = 2 if self._after_key == 1 and byte == _COLON else 0
                self._kept.append(byte)
                if byte == _QUOTE:
                    self._in_string, self._string_start = True, len(self._kept) - 1
            if len(self._kept) > self._max_line:
                raise HubError(400, f"commit payload line {self.line}: more than {self._max_line} bytes "
                                    "outside file contents")
        return items

    def finish(self) -> list[tuple[int, dict, list[dict]]]:
        """The last line (a body need not end with a newline); an unfinished content string is an error."""
        if self._writer is not None:
            raise HubError(400, f"commit payload line {self.line}: the body ends inside a file's content")
        return self._end_line()

    def close(self) -> None:
        """Delete a blob left half-received (an error or a dropped connection)."""
        if self._writer is not None:
            self._writer.__exit__(None, None, None)
            self._writer = self._decoder = None

    def _content(self, piece: bytes, pos: int) -> int:
        """Pass base64 text up to the closing quote to the decoder; returns where to go on in ``piece``."""
        try:
            if self._escape_in_content:  # JSON may escape '/' as '\/'; nothing else occurs in base64
                self._escape_in_content = False
                if piece[pos] != _SLASH:
                    raise ValueError("an escape other than \\/ in base64 text")
                self._decoder.feed(b"/")
                return pos + 1
            quote = piece.find(b'"', pos)
            backslash = piece.find(b"\\", pos, len(piece) if quote < 0 else quote)
            end = backslash if backslash >= 0 else quote if quote >= 0 else len(piece)
            self._decoder.feed(piece[pos:end])
            if end == backslash:
                self._escape_in_content = True
            elif end == quote:
                self._decoder.close()
                with self._writer:
                    self._blobs.append(self._writer.finish())
                self._writer = self._decoder = None
            return end + 1 if end < len(piece) else end
        except ValueError as err:
            raise HubError(400, f"commit payload line {self.line}: file content is not base64 ({err})") from None

    def _end_line(self) -> list[tuple[int, dict, list[dict]]]:
        kept, blobs, number = bytes(self._kept).strip(), self._blobs, self.line
        self._kept, self._blobs, self.line = bytearray(), [], self.line + 1
        self._in_string = self._escape = False
        self._after_key = 0
        if not kept:
            return []
        try:
            item = json.loads(kept)
            if not isinstance(item, dict) or not isinstance(item["value"], dict):
                raise TypeError
            item["key"]
        except (ValueError, KeyError, TypeError):
            raise HubError(400, f"commit payload line {number} is not a {{key, value}} JSON object") from None
        return [(number, item, blobs)]


def read_commit(pieces: Iterable[bytes], store: Store,
                max_line: int = MAX_LINE) -> tuple[dict | None, list[tuple[str, str, dict | None]]]:
    """Read a commit body -> (header, ops) with ops as :meth:`Store.commit` takes them. File contents are
    already in the store when this returns (content-addressed: a commit that fails leaves unused blobs only)."""
    reader, header, ops = CommitBodyReader(store, max_line), None, []
    with contextlib.closing(reader):
        for piece in itertools.chain(pieces, [None]):  # None: the body has ended
            for number, item, blobs in (reader.feed(piece) if piece is not None else reader.finish()):
                key, value = item["key"], item["value"]
                if blobs and key != "file":
                    raise HubError(400, f"commit payload line {number}: only a 'file' line carries content")
                if key == "header":
                    header = value
                elif key == "file":
                    path = check_file_path(value.get("path"))
                    if len(blobs) != 1 or value.get("content", 0) is not None \
                            or value.get("encoding", "base64") != "base64":
                        raise HubError(400, f"commit payload line {number}: {path} needs one base64 'content' "
                                            "string (encoding 'base64')")
                    ops.append(("add", path, blobs[0]))
                elif key == "lfsFile":  # only contents this server already holds (same file committed before)
                    path, sha256 = check_file_path(value.get("path")), str(value.get("oid"))
                    info = store.blob_info(sha256)
                    if info is None:
                        raise HubError(400, f"{path}: LFS object {sha256} was never uploaded; this server takes "
                                            "contents inline (upload mode 'regular')")
                    ops.append(("add", path, info))
                elif key in ("deletedFile", "deletedFolder"):
                    kind = "delete" if key == "deletedFile" else "delete_folder"
                    ops.append((kind, check_file_path(str(value.get("path", "")).rstrip("/")), None))
                else:
                    raise HubError(400, f"commit payload line {number}: unknown key {key!r}")
    return header, ops
