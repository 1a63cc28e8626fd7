"""``hf-replearn hub serve`` and ``hf-replearn hub push``: wired into the main CLI by ``add_hub_parser``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from hf_replearn.errors import UserError, exit_code


def add_hub_parser(subparsers) -> argparse.ArgumentParser:
    hub = subparsers.add_parser("hub", help="serve a local model hub, or push a finished run to a hub")
    commands = hub.add_subparsers(dest="hub_command", required=True, metavar="{serve,push}")

    serve = commands.add_parser("serve", help="run a local Hub-compatible server (set HF_ENDPOINT to its URL)")
    serve.add_argument("--root", required=True, type=Path, help="directory that holds the repositories")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; 0.0.0.0 serves the network)")
    serve.add_argument("--token", action="append", default=[],
                       help="a token allowed to write (repeatable); default: $HF_REPLEARN_HUB_TOKEN")
    serve.add_argument("--token-file", type=Path, help="file with one allowed token per line (# comments)")
    serve.add_argument("--user", default="local", help="namespace for repo ids given without one")
    serve.add_argument("--max-body-mb", type=int, default=4096,
                       help="largest accepted commit (MB); it streams to disk, so this bounds disk, not memory")
    serve.add_argument("--max-concurrent", type=int, default=16,
                       help="requests handled at once; more wait up to 5 s, then get 503 + Retry-After")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=run_serve)

    push = commands.add_parser("push", help="push an existing output directory (weights, card, plots)")
    push.add_argument("output_dir", type=Path, help="output_dir of a finished run")
    push.add_argument("repo_id", help="namespace/name on the hub")
    push.add_argument("--endpoint", help="hub URL (default: $HF_ENDPOINT, else huggingface.co)")
    push.add_argument("--token", help="hub token (default: $HF_TOKEN or the saved login)")
    push.add_argument("--private", action="store_true", help="create the repo as private")
    push.add_argument("--message", help="commit message")
    push.add_argument("--retries", type=int, default=4, help="retries on 5xx/connection errors (default 4)")
    push.set_defaults(func=run_push)
    return hub


def read_tokens(tokens: list[str], token_file: Path | None) -> list[str]:
    found = [t.strip() for t in tokens if t.strip()]
    if token_file is not None:
        if not token_file.is_file():
            raise UserError(f"--token-file {token_file} does not exist; create it with one token per line")
        lines = token_file.read_text(encoding="utf-8").splitlines()
        found += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not found and os.environ.get("HF_REPLEARN_HUB_TOKEN"):
        found.append(os.environ["HF_REPLEARN_HUB_TOKEN"])
    if not found:
        raise UserError("hub serve needs a write token: pass --token <secret>, --token-file FILE or set "
                        "HF_REPLEARN_HUB_TOKEN (clients then set HF_TOKEN to the same value)")
    return found


def run_serve(args) -> int:
    from hf_replearn.hub.server import HubServer

    tokens = read_tokens(args.token, args.token_file)
    if args.max_concurrent < 1:
        raise UserError(f"--max-concurrent {args.max_concurrent}: pass at least 1")
    if args.max_body_mb < 1:
        raise UserError(f"--max-body-mb {args.max_body_mb}: pass at least 1 (every commit larger is refused)")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: pass a TCP port from 1 to 65535, or 0 for a free one")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.root.exists() and not args.root.is_dir():
        raise UserError(f"--root {args.root} is a file; pass a directory (it is created if missing)")
    try:
        args.root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--root {args.root}: cannot create it ({err}); pass a directory you can write in") from None
    try:
        server = HubServer(args.root, tokens, host=args.host, port=args.port, user=args.user,
                           max_body_bytes=args.max_body_mb * 1024**2, max_concurrent=args.max_concurrent)
    except OSError as err:
        raise UserError(f"cannot listen on {args.host}:{args.port} ({err}); pick another --port") from None
    server.verbose = args.verbose
    print(f"hub serving {server.store.root} at {server.url}; clients: export HF_ENDPOINT={server.url} "
          "HF_TOKEN=<token>", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def run_push(args) -> int:
    from hf_replearn.hub.push import push_output_dir

    push_output_dir(args.output_dir, args.repo_id, endpoint=args.endpoint, token=args.token,  # prints URL and commit
                    private=args.private, commit_message=args.message, retries=args.retries)
    return 0


def main(argv=None) -> int:
    """``python -m hf_replearn.hub.cli serve|push ...``: the same subcommands without the main CLI."""
    parser = argparse.ArgumentParser(prog="python -m hf_replearn.hub.cli")
    add_hub_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["hub", *(sys.argv[1:] if argv is None else argv)])
    return exit_code(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
