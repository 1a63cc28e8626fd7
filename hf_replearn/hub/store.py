"""On-disk storage of the local hub: repositories, commits and content-addressed blobs.

Layout under ``root`` (every name on disk is built from a validated repo id or a hex digest, never
from a file path sent by a client, so no request can name a file outside ``root``)::

    objects/<sha256[:2]>/<sha256>                       file contents, written once, never modified
    objects/<sha256[:2]>/<sha256>.json                  {"size", "oid"} of that blob, written before it
    objects/tmp/                                        uploads being received (moved into place when whole)
    repos/<type>/<namespace>/<name>/repo.json           {"private": bool, "created": date}
    repos/<type>/<namespace>/<name>/refs/<branch>       the commit id the branch points to
    repos/<type>/<namespace>/<name>/commits/<id>.json   {"parent", "title", "message", "date", "author",
                                                          "files": {path: {"sha256", "size", "oid"}}}

A commit holds the whole file list of its revision, so any older commit stays downloadable by id.
A commit id is a 40-hex SHA-1 (what huggingface_hub accepts as a commit hash); ``oid`` is the git
blob SHA-1 that the Hub reports for regular files, which the client compares to skip unchanged files.
Contents arrive through a :class:`BlobWriter` (streamed, hashed as written), so no blob is ever held in
memory whole, and the oid is kept beside the blob so that no request re-reads a blob to hash it.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from hf_replearn.utils.files import atomic_write_bytes

REPO_TYPES = ("model", "dataset")
# Hub rules for a namespace or a repo name: letters, digits, '-', '_', '.', no leading '.' or '-'.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,95}")
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
COMMIT_ID = re.compile(r"[0-9a-f]{40}")
MAX_PATH_LEN = 1000
STALE_PART_S = 24 * 3600


class HubError(Exception):
    """An error answered to the client: HTTP status, Hub error code (``X-Error-Code``) and message."""

    def __init__(self, status: int, message: str, code: str | None = None, commit: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.commit = status, message, code, commit


def check_repo_id(namespace: str, name: str) -> str:
    for part in (namespace, name):
        if not _NAME.fullmatch(part or "") or ".." in part or part.endswith(".git"):
            raise HubError(
                400,
                f"invalid repo id {namespace!r}/{name!r}: each part must be 1-96 of A-Z a-z 0-9 . _ - "
                "without '..' (e.g. team/my-model)",
            )
    return f"{namespace}/{name}"


def check_file_path(path: object) -> str:
    """A path inside a repo: relative, POSIX, no '.', '..' or empty segment, no backslash or NUL."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_LEN:
        raise HubError(400, f"invalid file path {path!r}: expected a non-empty relative path")
    if path.startswith("/") or "\\" in path or "\x00" in path or re.match(r"[A-Za-z]:", path):
        raise HubError(400, f"invalid file path {path!r}: absolute paths and backslashes are refused")
    if any(seg in ("", ".", "..") for seg in path.split("/")):
        raise HubError(400, f"invalid file path {path!r}: '.', '..' and empty segments are refused")
    return path


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def git_blob_oid_of_file(path: Path, size: int, chunk_size: int = 1024 * 1024) -> str:
    """:func:`git_blob_oid` of a file's contents, read in chunks (git hashes the size first, so a blob's
    oid can only be computed once its size is known: after the upload, from the page cache)."""
    digest = hashlib.sha1(b"blob %d\x00" % size)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Store:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        (self.root / "objects" / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self._thread_lock = threading.Lock()  # one writer at a time: a commit reads the head, then moves it
        # Uploads cut off by a killed server; a day old, so another server on this root is not receiving them.
        for part in (self.root / "objects" / "tmp").glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if time.time() - part.stat().st_mtime > STALE_PART_S:
                    part.unlink()

    @contextlib.contextmanager
    def _write_lock(self):
        # A thread lock for this server, a file lock for other servers sharing the same root.
        with self._thread_lock, open(self.root / ".write.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---------------------------------------------------------------- paths

    def _inside_root(self, path: Path) -> Path:
        # Names are validated, but a symlink planted under root could still point out of it.
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise HubError(404, f"{path.relative_to(self.root)} leaves the server root", "RepoNotFound")
        return path

    def _repo_dir(self, repo_type: str, repo_id: str) -> Path:
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"unknown repo type {repo_type!r}; this server keeps {', '.join(REPO_TYPES)}")
        namespace, _, name = repo_id.partition("/")
        check_repo_id(namespace, name)
        return self._inside_root(self.root / "repos" / repo_type / namespace / name)

    def _object_path(self, sha256: str) -> Path:
        return self._inside_root(self.root / "objects" / sha256[:2] / sha256)

    # ---------------------------------------------------------------- repos

    def create_repo(self, repo_type: str, repo_id: str, private: bool, author: str) -> None:
        repo = self._repo_dir(repo_type, repo_id)
        with self._write_lock():
            if (repo / "repo.json").exists():
                raise HubError(409, f"You already created this {repo_type} repo: {repo_id}")
            atomic_write_bytes(repo / "repo.json", json.dumps({"private": private, "created": now_iso()}).encode())
            self._write_commit(repo, None, {}, "initial commit", "", author)

    def repo_meta(self, repo_type: str, repo_id: str) -> dict:
        repo = self._repo_dir(repo_type, repo_id)
        try:
            return json.loads((repo / "repo.json").read_text())
        except FileNotFoundError:
            raise HubError(404, f"Repository {repo_id} ({repo_type}) not found", "RepoNotFound") from None

    # ---------------------------------------------------------------- revisions

    def resolve(self, repo_type: str, repo_id: str, revision: str) -> tuple[str, dict]:
        """A branch name or a commit id -> (commit id, commit record)."""
        self.repo_meta(repo_type, repo_id)
        repo = self._repo_dir(repo_type, repo_id)
        if COMMIT_ID.fullmatch(revision):
            commit_id = revision
        elif _BRANCH.fullmatch(revision) and ".." not in revision:
            ref = self._inside_root(repo / "refs" / revision)
            commit_id = ref.read_text().strip() if ref.is_file() else None
        else:
            commit_id = None
        path = repo / "commits" / f"{commit_id}.json"
        if commit_id is None or not path.is_file():
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit_id, json.loads(self._inside_root(path).read_text())

    def history(self, repo_type: str, repo_id: str, revision: str) -> list[tuple[str, dict]]:
        commit_id, commit = self.resolve(repo_type, repo_id, revision)
        out = [(commit_id, commit)]
        while commit["parent"] is not None:
            commit_id, commit = self.resolve(repo_type, repo_id, commit["parent"])
            out.append((commit_id, commit))
        return out

    # ---------------------------------------------------------------- files

    def blob_writer(self) -> "BlobWriter":
        return BlobWriter(self)

    def put_blob(self, data: bytes) -> dict:
        with self.blob_writer() as writer:
            writer.write(data)
            return writer.finish()

    def blob_path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise HubError(400, f"invalid sha256 {sha256!r}")
        return self._object_path(sha256)

    def card_data(self, commit: dict) -> dict:
        """The YAML front matter of the commit's README.md (the model card's metadata); ``{}`` when it has
        none or it is not a mapping. The real Hub derives a repo's ``tags`` and ``cardData`` from it."""
        import yaml

        card = commit["files"].get("README.md")
        if card is None:
            return {}
        with open(self.blob_path(card["sha256"]), "rb") as f:
            head = f.read(1 << 20).decode("utf-8", errors="replace")  # metadata sits at the top; 1 MB bounds it
        if not head.startswith("---"):
            return {}
        front = head[3:].split("\n---", 1)[0]
        try:
            meta = yaml.safe_load(front)
        except yaml.YAMLError:
            return {}
        return meta if isinstance(meta, dict) else {}

    def blob_info(self, sha256: str) -> dict | None:
        """``{"sha256", "size", "oid"}`` of a stored blob, from the record kept beside it; None if absent."""
        path = self.blob_path(sha256)
        if not path.is_file():
            return None
        record = path.with_name(path.name + ".json")
        if not record.is_file():  # a blob stored before records were kept: hash it once, keep the record
            size = path.stat().st_size
            atomic_write_bytes(record, json.dumps({"size": size, "oid": git_blob_oid_of_file(path, size)}).encode())
        return {"sha256": sha256, **json.loads(record.read_text())}

    # ---------------------------------------------------------------- commits

    def commit(self, repo_type: str, repo_id: str, branch: str, ops: list[tuple[str, str, object]],
               title: str, message: str, author: str, parent_commit: str | None = None) -> str:
        """Apply ``ops`` = [("add", path, blob_info) | ("delete", path, None) | ("delete_folder", path, None)]
        on top of ``branch`` and move the branch to the new commit. Returns the new commit id."""
        repo = self._repo_dir(repo_type, repo_id)
        with self._write_lock():
            head, commit = self.resolve(repo_type, repo_id, branch)
            if COMMIT_ID.fullmatch(branch):
                raise HubError(400, f"cannot commit onto a commit id ({branch}); commit to a branch such as main")
            if parent_commit is not None and not head.startswith(parent_commit):
                raise HubError(412, f"parent commit {parent_commit} is not the head of {branch} ({head})")
            files = dict(commit["files"])
            for kind, path, info in ops:
                if kind == "add":
                    files[path] = info
                elif kind == "delete":
                    if path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del files[path]
                else:
                    prefix = path.rstrip("/") + "/"
                    files = {p: f for p, f in files.items() if not p.startswith(prefix)}
            return self._write_commit(repo, head, files, title, message, author, branch)

    def _write_commit(self, repo: Path, parent: str | None, files: dict, title: str, message: str,
                      author: str, branch: str = "main") -> str:
        record = {"parent": parent, "title": title, "message": message, "date": now_iso(),
                  "author": author, "files": dict(sorted(files.items()))}
        data = json.dumps(record, indent=1).encode()
        commit_id = hashlib.sha1(data).hexdigest()  # the date and parent make it unique
        atomic_write_bytes(repo / "commits" / f"{commit_id}.json", data)
        atomic_write_bytes(repo / "refs" / branch, commit_id.encode())  # the move that publishes the commit
        return commit_id


class BlobWriter:
    """Receives one blob in pieces: each piece goes to a temporary file under ``objects/tmp`` and into the
    SHA-256; :meth:`finish` writes the ``{"size", "oid"}`` record, then moves the file into place (the move
    publishes it, so a blob on disk is always whole and has its record). Use as a context manager: a blob
    that is not finished (a bad upload, a dropped connection) is deleted on exit."""

    def __init__(self, store: Store):
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.root / "objects" / "tmp", suffix=".part")
        self._file, self._tmp = os.fdopen(fd, "wb"), Path(name)
        self._sha256, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._sha256.update(data)
        self.size += len(data)

    def finish(self) -> dict:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        sha256 = self._sha256.hexdigest()
        path = self._store._object_path(sha256)
        if path.is_file():  # the same contents were uploaded before: keep that copy and its record
            return self._store.blob_info(sha256)
        info = {"size": self.size, "oid": git_blob_oid_of_file(self._tmp, self.size)}
        atomic_write_bytes(path.with_name(path.name + ".json"), json.dumps(info).encode())
        os.replace(self._tmp, path)
        return {"sha256": sha256, **info}

    def __enter__(self) -> "BlobWriter":
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)
