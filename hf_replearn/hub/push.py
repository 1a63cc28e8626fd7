"""Push a finished output directory to a model hub, retrying transient failures.

``push_output_dir`` uploads the final checkpoint of a run (safetensors, config, tokenizer or processor,
a LoRA adapter, ``results.json``, plots) and its model card in one commit. It never writes to or
deletes from the output directory: a push that fails leaves the run exactly as it was.

Failures: connection errors, timeouts, 429 and 5xx answers are retried ``retries`` times with
exponential backoff (``backoff * 2**attempt`` seconds), then raise a :class:`UserError` that says the
local output is intact and how to push again. A 401/403 (token) or another 4xx, and a server that does
not speak the Hub API, fail at once with a :class:`UserError` naming the fix.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from pathlib import Path
from typing import Callable

from hf_replearn.errors import UserError
from hf_replearn.hub.model_card import CARD_FILE, CardInfo, build_model_card, find_plots, read_results

# Not part of the published model: intermediate checkpoints (resume state), logs, temporary files.
DEFAULT_IGNORE = ("checkpoint-*", "checkpoint-*/*", ".*", "*/.*", "*.tmp", "runs/*", "**/__pycache__/*")
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors",
                 "pytorch_model.bin", "adapter_config.json")
_REPO_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,95}")


def check_repo_id(repo_id: str, where: str = "repo id") -> str:
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2 or not all(_REPO_PART.fullmatch(p) and ".." not in p for p in parts):
        raise UserError(
            f"{where} {repo_id!r} is not a hub repo id: expected `namespace/name`, each part 1-96 of "
            "A-Z a-z 0-9 . _ - without '..', '/' or '\\' (e.g. my-team/simclr-digits)"
        )
    return repo_id


def files_to_push(output_dir: Path, ignore=DEFAULT_IGNORE) -> list[str]:
    files = []
    for path in sorted(Path(output_dir).rglob("*")):
        rel = path.relative_to(output_dir).as_posix()
        if path.is_symlink() or not path.is_file() or any(fnmatch.fnmatch(rel, pat) for pat in ignore):
            continue
        if any(fnmatch.fnmatch(part, "checkpoint-*") or part.startswith(".") for part in rel.split("/")):
            continue
        files.append(rel)
    return files


def _is_transient(err: BaseException) -> bool:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(err, HfHubHTTPError) and err.response is not None:
        return err.response.status_code == 429 or err.response.status_code >= 500
    return isinstance(err, (httpx2.TransportError, httpx2.TimeoutException, ConnectionError, TimeoutError))


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def push_output_dir(
    output_dir: str | Path,
    repo_id: str,
    *,
    endpoint: str | None = None,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    card_info: CardInfo | None = None,
    retries: int = 4,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
):
    """Push ``output_dir`` to ``repo_id`` (created if missing) in one commit; returns the ``CommitInfo``.

    The card is ``output_dir/README.md`` when the run wrote one, otherwise ``card_info``, otherwise one
    built from ``results.json``. ``endpoint`` defaults to ``HF_ENDPOINT``; ``token`` to ``HF_TOKEN`` or
    the token saved by ``hf auth login``.
    """
    from huggingface_hub import CommitOperationAdd, HfApi, constants, get_token

    output_dir = Path(output_dir)
    check_repo_id(repo_id)
    if retries < 0:
        raise UserError(f"--retries {retries}: give 0 or more (0: one try, no retry)")
    if constants.is_offline_mode():
        raise UserError(f"cannot push {output_dir}: HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set; unset it "
                        "for the push (HF_HUB_OFFLINE=0 hf-replearn hub push ...)")
    if not output_dir.is_dir():
        raise UserError(f"output directory {output_dir} does not exist; pass the output_dir of a finished run")
    files = files_to_push(output_dir)
    if not any(name in files for name in _WEIGHT_FILES):
        raise UserError(
            f"{output_dir} holds no final weights ({', '.join(_WEIGHT_FILES[:3])}); push the output_dir of a "
            "finished run (the top level, not a checkpoint-N folder)"
        )
    token = token or get_token()
    if not token:
        raise UserError("no hub token: set HF_TOKEN=<token> (or `hf auth login`, or pass --token) and push again")
    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=token)

    card = None
    if CARD_FILE not in files:
        card_info = card_info or CardInfo(model_name=repo_id, task="unknown", results=read_results(output_dir),
                                          plots=find_plots(output_dir))
        card = str(build_model_card(card_info)).encode()

    def attempt():
        api.create_repo(repo_id, private=private, exist_ok=True)
        operations = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=output_dir / rel) for rel in files]
        if card is not None:
            operations.append(CommitOperationAdd(path_in_repo=CARD_FILE, path_or_fileobj=card))
        return api.create_commit(repo_id, operations, commit_message=commit_message or f"Upload {output_dir.name}")

    where = f"{repo_id} on {api.endpoint}"
    for number in range(retries + 1):
        try:
            info = attempt()
            print(f"pushed {output_dir} to {info.repo_url.url if info.repo_url else where} at commit {info.oid} "
                  f"({info.commit_url})", flush=True)
            return info
        except Exception as err:  # sorted below into transient, token, other client errors, garbage
            from huggingface_hub.errors import HfHubHTTPError

            if _is_transient(err):
                if number < retries:
                    sleep(backoff * 2**number)
                    continue
                raise UserError(
                    f"pushing {output_dir} to {where} failed {retries + 1} times ({_describe(err)}); the local "
                    f"output in {output_dir} is intact: push it again when the server is back with "
                    f"`hf-replearn hub push {output_dir} {repo_id}`"
                ) from err
            if isinstance(err, HfHubHTTPError) and err.response is not None:
                status = err.response.status_code
                fix = ("check the token (HF_TOKEN or --token) and that it may write to this namespace"
                       if status in (401, 403) else "fix the request named above and push again")
                raise UserError(f"the hub refused the push of {output_dir} to {where} (HTTP {status}: "
                                f"{_describe(err)}); {fix}; the local output is intact") from err
            if isinstance(err, ValueError) and str(err).startswith("Invalid metadata in README.md"):
                reasons = "; ".join(line.removeprefix("- ") for line in str(err).splitlines()[1:]) or "no reason given"
                raise UserError(f"the hub refused the push of {output_dir} to {where}: its {CARD_FILE}'s metadata "
                                f"({reasons}); fix the front matter of {output_dir / CARD_FILE} (or delete the file to "
                                "have a card written) and push again; the local output is intact") from err
            if isinstance(err, (ValueError, KeyError, TypeError)):
                raise UserError(
                    f"the server at {api.endpoint} answered something that is not the Hub API ({_describe(err)}); "
                    "check HF_ENDPOINT / --endpoint; the local output is intact"
                ) from err
            raise


def check_hub_recipe(recipe) -> None:
    """Fail before training, not after, when ``hub.push_to_hub`` is set without a usable repo id."""
    hub = recipe.hub
    if not hub.push_to_hub:
        return
    if not hub.hub_model_id:
        raise UserError(f"{recipe.source}: hub.push_to_hub is true but hub.hub_model_id is not set; add "
                        "`hub: {hub_model_id: my-team/my-model}` or pass hub.hub_model_id=my-team/my-model")
    check_repo_id(hub.hub_model_id, where=f"{recipe.source}: hub.hub_model_id")


def push_recipe(recipe, results: dict, **kwargs):
    """End of ``run_recipe``: write the model card into the output directory, then push it when the
    recipe says ``hub.push_to_hub: true``. Returns the ``CommitInfo`` (``None`` when not pushing)."""
    from hf_replearn.hub.model_card import card_info_from_recipe, save_model_card

    check_hub_recipe(recipe)
    info = card_info_from_recipe(recipe, results)
    card_path = Path(recipe.output_dir) / CARD_FILE
    if not card_path.exists():
        save_model_card(recipe.output_dir, build_model_card(info))
    if not recipe.hub.push_to_hub:
        return None
    return push_output_dir(recipe.output_dir, recipe.hub.hub_model_id, private=recipe.hub.private,
                           card_info=info, commit_message=f"hf-replearn {recipe.task}: final checkpoint", **kwargs)
