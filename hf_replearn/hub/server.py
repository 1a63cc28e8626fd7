"""A local Hub-compatible server: what huggingface_hub and transformers need to push and pull models.

``hf-replearn hub serve --root DIR --port P --token-file FILE``; clients set ``HF_ENDPOINT=http://host:P``
and ``HF_TOKEN``. Endpoints (the paths huggingface_hub 2.x calls)::

    POST /api/repos/create                              create_repo              (token)
    POST /api/validate-yaml                             README.md metadata check (token)
    POST /api/{type}s/{repo}/preupload/{rev}            upload modes: always "regular" (inline)  (token)
    POST /api/{type}s/{repo}/commit/{rev}               NDJSON commit            (token)
    GET  /api/{type}s/{repo}[/revision/{rev}]           repo_info: sha, siblings
    GET  /api/{type}s/{repo}/tree/{rev}[/{path}]        list_repo_tree, snapshot_download
    GET  /api/{type}s/{repo}/commits/{rev}              list_repo_commits
    GET  /api/whoami-v2                                 whoami                   (token)
    HEAD/GET /[datasets/]{repo}/resolve/{rev}/{path}    hf_hub_download, from_pretrained

Writes need ``Authorization: Bearer <token>`` with a token the server knows (401 otherwise); reads of a
private repo too. The server speaks plain HTTP: bound to an address other than loopback, it warns at start,
since tokens then cross the network in clear unless a TLS proxy is in front of it.

Memory: a commit body is read in pieces of ``CHUNK`` bytes and its file contents are decoded straight to
disk (:mod:`hf_replearn.hub.upload`); other JSON bodies are capped at ``MAX_JSON_BODY``. At most
``max_concurrent`` requests are handled at once: a further one waits up to ``queue_wait_s`` seconds for a
slot, then gets 503 with ``Retry-After`` (``hf-replearn hub push`` and huggingface_hub's ``http_backoff``
retry it). Waiting briefly absorbs bursts (upload_folder's parallel calls) without failing them, and the 503
keeps a flood from queueing without end. So the server's memory is bounded by ``max_concurrent`` small
buffers, whatever the uploads; ``max_body_bytes`` bounds a commit's size on disk. A request that fails on
a bug gets 500 with a request id only; the traceback goes to the server's log under that id. Idle
connections close after ``timeout`` seconds. Storage and path safety live in :mod:`hf_replearn.hub.store`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from hf_replearn.hub.store import REPO_TYPES, HubError, Store, check_file_path
from hf_replearn.hub.upload import read_commit

DEFAULT_MAX_BODY = 4 * 1024**3
MAX_JSON_BODY = 8 * 1024**2  # create, preupload (huggingface_hub sends 256 files per call), validate-yaml
CHUNK = 256 * 1024  # bytes of a commit body read at a time
logger = logging.getLogger(__name__)


def _metadata_id_errors(meta: dict) -> list[str]:
    """The Hub's check of the ids a card's metadata names: ``base_model`` (one or a list) and ``datasets`` must be repo
    ids, not local paths or free text (the Hub answers a push of such a card with these messages, failing it)."""
    from hf_replearn.hub.model_card import is_repo_id

    errors = []
    bases = meta.get("base_model")
    for i, value in enumerate(bases if isinstance(bases, list) else [] if bases is None else [bases]):
        if not is_repo_id(value):
            at = f"base_model[{i}]" if isinstance(bases, list) else "base_model"
            errors.append(f'"{at}" with value "{value}" is not valid. Use a model id from https://hf.co/models.')
    for i, value in enumerate(meta.get("datasets") or []):
        if not is_repo_id(value):
            errors.append(f'"datasets[{i}]" with value "{value}" is not valid. If possible, use a dataset id from '
                          "https://hf.co/datasets.")
    return errors


class HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, tokens: list[str], host: str = "127.0.0.1", port: int = 0,
                 user: str = "local", max_body_bytes: int = DEFAULT_MAX_BODY, max_concurrent: int = 16,
                 queue_wait_s: float = 5.0):
        if not tokens or not all(tokens):
            raise ValueError("the hub server needs at least one non-empty token for writes")
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent}")
        self.store = Store(root)
        self.tokens = list(tokens)
        self.user = user
        self.max_body_bytes = max_body_bytes
        self.slots, self.queue_wait_s = threading.BoundedSemaphore(max_concurrent), queue_wait_s
        super().__init__((host, port), _Handler)
        if not ipaddress.ip_address(self.server_address[0]).is_loopback:
            logger.warning("hub server listens on %s, beyond this machine, over plain HTTP: bearer tokens and "
                           "contents travel in clear unless a TLS proxy is in front of it", self.url)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection is kept
    request_id = ""  # set per request; names the request in the log and in the X-Request-Id header
    server: HubServer

    def log_message(self, format, *args):  # noqa: A002 - quiet by default; the CLI turns it on
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    # ---------------------------------------------------------------- plumbing

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if self.request_id:
            self.send_header("X-Request-Id", self.request_id)

    def _dispatch(self, method: str) -> None:
        self.request_id = secrets.token_hex(8)
        if not self.server.slots.acquire(timeout=self.server.queue_wait_s):
            return self._send_error(HubError(503, "the server is busy; retry shortly"), {"Retry-After": "1"})
        try:
            split = urlsplit(self.path)
            self.query = parse_qs(split.query)
            # Split the raw path first, then unquote each segment: an encoded '/' stays inside its segment.
            segments = [unquote(s) for s in split.path.split("/")[1:]]
            self._route(method, segments)
        except HubError as err:
            self._send_error(err)
        except (ConnectionError, TimeoutError):  # the client went away or stalled: nobody to answer
            self.close_connection = True
        except Exception:  # a bug must not kill the server or hang the client, nor show the client its text
            logger.exception("request %s (%s %s) failed", self.request_id, method, self.path.split("?")[0])
            self._send_error(HubError(500, f"internal server error; the server log has the details under "
                                           f"request id {self.request_id}"))
        finally:
            self.server.slots.release()
            self.request_id = ""

    def _route(self, method: str, seg: list[str]) -> None:
        if method == "POST":
            self._require_token()
        if seg[:1] == ["api"]:
            if method == "POST" and seg[1:] == ["repos", "create"]:
                return self._create_repo()
            if method == "POST" and seg[1:] == ["validate-yaml"]:
                return self._validate_yaml()
            if method == "GET" and seg[1:] == ["whoami-v2"]:
                self._require_token()
                return self._send_json({"type": "user", "name": self.server.user, "auth": {}})
            if len(seg) >= 4 and seg[1].endswith("s") and seg[1][:-1] in REPO_TYPES:
                repo_type, repo_id, rest = seg[1][:-1], f"{seg[2]}/{seg[3]}", seg[4:]
                return self._repo_api(method, repo_type, repo_id, rest)
        else:
            repo_type = "model"
            if seg[:1] == ["datasets"]:
                repo_type, seg = "dataset", seg[1:]
            if method in ("GET", "HEAD") and len(seg) >= 5 and seg[2] == "resolve":
                path = check_file_path("/".join(seg[4:]))
                return self._resolve(method, repo_type, f"{seg[0]}/{seg[1]}", seg[3], path)
        raise HubError(404, f"no such endpoint: {method} {self.path.split('?')[0]}")

    def _repo_api(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        meta = self.server.store.repo_meta(repo_type, repo_id)
        if meta["private"] and method == "GET":
            self._require_token(not_found=f"Repository {repo_id} not found")
        action, revision = (rest[0], rest[1]) if len(rest) >= 2 else (rest[0] if rest else "", "main")
        if method == "POST" and action == "preupload":
            return self._preupload(repo_type, repo_id, revision)
        if method == "POST" and action == "commit":
            return self._commit(repo_type, repo_id, revision)
        if method == "GET" and action in ("", "revision"):
            return self._repo_info(repo_type, repo_id, revision, meta)
        if method == "GET" and action == "tree":
            return self._tree(repo_type, repo_id, revision, "/".join(rest[2:]))
        if method == "GET" and action == "commits":
            history = self.server.store.history(repo_type, repo_id, revision)
            return self._send_json([
                {"id": cid, "title": c["title"], "message": c["message"], "date": c["date"],
                 "authors": [{"user": c["author"]}]} for cid, c in history
            ])
        raise HubError(404, f"no such endpoint: {method} {self.path.split('?')[0]}")

    def _require_token(self, not_found: str | None = None) -> str:
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if token and any(hmac.compare_digest(token, known) for known in self.server.tokens):
            return token
        if not_found:  # like the Hub: a private repo is not revealed to an anonymous reader
            raise HubError(401, not_found, "RepoNotFound")
        raise HubError(401, "Invalid credentials in Authorization header: pass a token this server knows "
                            "(HF_TOKEN=<token>, or token=... in huggingface_hub calls)")

    def _body_length(self, limit: int, hint: str) -> int:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise HubError(411, "Content-Length required")
        if int(length) > limit:
            raise HubError(413, f"request body of {length} bytes exceeds the server limit ({limit} bytes{hint})")
        return int(length)

    def _body_pieces(self):
        """The request body in pieces of at most ``CHUNK`` bytes (a commit body is never held whole)."""
        left = self._body_length(self.server.max_body_bytes, "; raise --max-body-mb")
        while left:
            piece = self.rfile.read(min(CHUNK, left))
            if not piece:
                raise ConnectionError("the request body ended before its Content-Length")
            left -= len(piece)
            yield piece

    def _read_json(self) -> dict:
        length = self._body_length(MAX_JSON_BODY, "")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise HubError(400, f"request body is not JSON: {err}") from None
        if not isinstance(body, dict):
            raise HubError(400, "request body must be a JSON object")
        return body

    def _send_json(self, payload, status: int = 200, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(self, err: HubError, extra: dict | None = None) -> None:
        headers = {"X-Error-Message": err.message.encode("ascii", "replace").decode()[:500], "Connection": "close",
                   **(extra or {})}
        if err.code:
            headers["X-Error-Code"] = err.code
        if err.commit:
            headers["X-Repo-Commit"] = err.commit
        self.close_connection = True  # an unread request body must not be taken for the next request
        self._send_json({"error": err.message}, err.status, headers)

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return f"{self.server.url}/{prefix}{repo_id}"

    # ---------------------------------------------------------------- write endpoints

    def _create_repo(self) -> None:
        body = self._read_json()
        repo_type = body.get("type") or "model"
        name, namespace = body.get("name"), body.get("organization") or self.server.user
        if not isinstance(name, str) or not isinstance(namespace, str):
            raise HubError(400, "create needs a string 'name' (and optional 'organization')")
        repo_id = f"{namespace}/{name}"
        private = body.get("private") is True or body.get("visibility") == "private"
        try:
            self.server.store.create_repo(repo_type, repo_id, private, self.server.user)
        except HubError as err:
            if err.status == 409:  # the client reads the url of the existing repo from a 409
                return self._send_json({"error": err.message, "url": self._repo_url(repo_type, repo_id)}, 409,
                                       {"X-Error-Message": err.message})
            raise
        self._send_json({"url": self._repo_url(repo_type, repo_id), "name": repo_id, "id": repo_id})

    def _validate_yaml(self) -> None:
        content = self._read_json().get("content", "")
        if isinstance(content, str) and content.startswith("---"):
            import yaml  # a project dependency; only the README's front matter is parsed

            front = content.split("---", 2)[1] if content.count("---") >= 2 else ""
            try:
                meta = yaml.safe_load(front)
            except yaml.YAMLError as err:
                return self._send_json({"errors": [{"message": f"invalid YAML: {err}"}]}, 400)
            if meta is not None and not isinstance(meta, dict):
                return self._send_json({"errors": [{"message": "metadata must be a YAML mapping"}]}, 400)
            errors = _metadata_id_errors(meta or {})
            if errors:
                return self._send_json({"errors": [{"message": e} for e in errors]}, 400)
        self._send_json({"errors": [], "warnings": []})

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        _, commit = self.server.store.resolve(repo_type, repo_id, revision)
        files = self._read_json().get("files")
        if not isinstance(files, list):
            raise HubError(400, "preupload needs a 'files' list")
        answer = []
        for item in files:
            path = check_file_path(item.get("path") if isinstance(item, dict) else None)
            remote = commit["files"].get(path)
            # "regular": contents travel inline (base64) in the commit; no LFS or Xet storage needed.
            answer.append({"path": path, "uploadMode": "regular", "shouldIgnore": False,
                           "oid": remote["oid"] if remote else None})
        self._send_json({"files": answer, "commitOid": None})

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        store = self.server.store
        store.resolve(repo_type, repo_id, revision)  # 404 before reading a large body
        pieces = self._body_pieces()
        try:
            header, ops = read_commit(pieces, store)
        except HubError:
            for _ in pieces:  # read the rest of the body, so the client, still sending, gets the answer
                pass
            raise
        if not isinstance(header, dict) or not header.get("summary"):
            raise HubError(400, "commit payload needs a header line with a non-empty 'summary'")
        commit_id = store.commit(repo_type, repo_id, revision, ops, str(header["summary"]),
                                 str(header.get("description", "")), self.server.user, header.get("parentCommit"))
        self._send_json({"success": True, "commitOid": commit_id, "pullRequestUrl": None,
                         "commitUrl": f"{self._repo_url(repo_type, repo_id)}/commit/{commit_id}"})

    # ---------------------------------------------------------------- read endpoints

    def _repo_info(self, repo_type: str, repo_id: str, revision: str, meta: dict) -> None:
        commit_id, commit = self.server.store.resolve(repo_type, repo_id, revision)
        card = self.server.store.card_data(commit)
        tags = [str(t) for t in card.get("tags") or [] if isinstance(t, (str, int, float))]
        extra = {"cardData": card} if card else {}
        if isinstance(card.get("library_name"), str):
            extra["library_name"] = card["library_name"]
        self._send_json({
            "id": repo_id, "_id": repo_id, "modelId": repo_id, "author": repo_id.split("/")[0],
            "sha": commit_id, "private": meta["private"], "disabled": False, "gated": False,
            "lastModified": commit["date"], "createdAt": meta["created"], "tags": tags, **extra,
            "siblings": [{"rfilename": p, "size": f["size"], "blobId": f["oid"]}
                         for p, f in commit["files"].items()],
        })

    def _tree(self, repo_type: str, repo_id: str, revision: str, prefix: str) -> None:
        _, commit = self.server.store.resolve(repo_type, repo_id, revision)
        prefix = check_file_path(prefix.rstrip("/")) + "/" if prefix else ""
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        entries, folders = [], set()
        for path, info in commit["files"].items():
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            if "/" in rest:
                parts = rest.split("/")
                for depth in range(1, len(parts) if recursive else 2):
                    folders.add(prefix + "/".join(parts[:depth]))
                if not recursive:
                    continue
            entries.append({"type": "file", "path": path, "size": info["size"], "oid": info["oid"]})
        if prefix and not entries and not folders:
            raise HubError(404, f"{prefix.rstrip('/')} does not exist at {revision}", "EntryNotFound")
        entries += [{"type": "directory", "path": f, "oid": "0" * 40, "size": 0} for f in sorted(folders)]
        self._send_json(sorted(entries, key=lambda e: e["path"]))

    def _resolve(self, method: str, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        meta = self.server.store.repo_meta(repo_type, repo_id)
        if meta["private"]:
            self._require_token(not_found=f"Repository {repo_id} not found")
        commit_id, commit = self.server.store.resolve(repo_type, repo_id, revision)
        info = commit["files"].get(path)
        if info is None:
            raise HubError(404, f"Entry not found: {path} at {revision}", "EntryNotFound", commit_id)
        blob = self.server.store.blob_path(info["sha256"])
        size, start = info["size"], 0
        status, headers = 200, {}
        range_header = self.headers.get("Range", "")
        if range_header.startswith("bytes=") and range_header[6:].split("-")[0].isdigit():
            start = min(int(range_header[6:].split("-")[0]), size)  # resume: "bytes=N-"
            status, headers["Content-Range"] = 206, f"bytes {start}-{max(size - 1, start)}/{size}"
        self.send_response(status)
        headers.update({"Content-Length": str(size - start), "Content-Type": "application/octet-stream",
                        "ETag": f'"{info["oid"]}"', "X-Repo-Commit": commit_id, "Accept-Ranges": "bytes"})
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method == "GET":
            with open(blob, "rb") as handle:
                handle.seek(start)
                shutil.copyfileobj(handle, self.wfile, 1024 * 1024)

