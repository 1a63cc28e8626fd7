"""Checks of what the user named (folders, hub names, numbers) that run before any data, model or output
directory is touched. Each failure is a :class:`UserError` that names the key, the value and the fix.

A name that is not a local folder goes to a model hub. When the hub is off (``HF_HUB_OFFLINE=1``) or does
not answer an HTTP request within :data:`CONNECT_TIMEOUT_S`, such a name fails here at once, listing the local
choices, instead of after minutes of the hub client's retries.
"""

from __future__ import annotations

import difflib
import functools
import os
import threading
from pathlib import Path

from hf_replearn.errors import UserError

CONNECT_TIMEOUT_S = 3.0
LORA_MERGED = "merged"
"""The subfolder in which a text run trained with LoRA saves its base with the adapter folded in, a plain model
(``lora.merge_on_save``); the run's folder itself holds the adapter alone."""
_TRUE = {"1", "true", "yes", "on"}


def hub_unreachable() -> str | None:
    """Why no model hub can be reached from here (``None``: one answers)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return f"{var}=1 is set"
    return _no_answer(os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/"))


@functools.lru_cache(maxsize=None)
def _no_answer(endpoint: str) -> str | None:
    """One HTTP HEAD of the endpoint, asked once per process and endpoint: any HTTP answer (even 404)
    means a server is there. It runs in a thread, so that nothing the request's timeout does not bound
    (the name lookup) holds the command up either."""
    import urllib.error
    import urllib.request

    outcome: list = []

    def ask() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint + "/", method="HEAD"), timeout=CONNECT_TIMEOUT_S)
            outcome.append(None)
        except urllib.error.HTTPError:
            outcome.append(None)
        except (OSError, ValueError) as err:  # URLError, refused, timed out; ValueError: not a URL
            outcome.append(f"{endpoint} does not answer ({getattr(err, 'reason', None) or err})")

    thread = threading.Thread(target=ask, daemon=True, name="hub-reachable")
    thread.start()
    thread.join(CONNECT_TIMEOUT_S + 0.5)
    return outcome[0] if outcome else f"{endpoint} does not answer within {CONNECT_TIMEOUT_S:g} s"


def looks_like_path(value: str) -> bool:
    """A value that can only mean a local path: absolute, ``./``, ``~``, or more than one ``/``
    (a hub id is ``name`` or ``namespace/name``)."""
    text = str(value)
    return text.startswith(("/", ".", "~")) or text.count("/") > 1 or os.sep != "/" and os.sep in text


def is_local(value) -> bool:
    """Whether ``value`` names a local path (one that exists, or can only be a path) rather than a hub id."""
    return Path(str(value)).expanduser().exists() or looks_like_path(str(value))


def did_you_mean(value: str, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def is_adapter_folder(value) -> bool:
    """Whether ``value`` is a folder holding a PEFT adapter and no whole model (adapter_config.json, no config.json)."""
    path = Path(str(value)).expanduser()
    return (path / "adapter_config.json").is_file() and not (path / "config.json").is_file()


def lora_run_merged(value) -> Path | None:
    """``value/merged`` when ``value`` is the folder of a LoRA run (:func:`is_adapter_folder`) that saved its merged
    model there; else None."""
    merged = Path(str(value)).expanduser() / LORA_MERGED
    return merged if is_adapter_folder(value) and (merged / "config.json").is_file() else None


def check_folder(value, key: str, where: str, needs: tuple[str, ...] = ("config.json",), what: str = "model folder") -> Path:
    """``value`` is an existing folder holding each of ``needs``."""
    path = Path(str(value)).expanduser()
    if not path.exists():
        raise UserError(f"{where}: {key}={value}: this folder does not exist; give an existing {what}")
    if not path.is_dir():
        raise UserError(f"{where}: {key}={value} is a file; give a {what}")
    missing = [name for name in needs if not (path / name).is_file()]
    if "config.json" in needs and is_adapter_folder(path):
        merged = lora_run_merged(path)
        fix = (f"give {merged}, the base with the adapter folded in" if merged else
               "give the base model with the adapter merged in (a run with lora.merge_on_save=true saves it under "
               f"{LORA_MERGED}/)")
        raise UserError(f"{where}: {key}={value} holds a LoRA adapter (adapter_config.json), not a whole model; {fix}")
    if missing:
        raise UserError(f"{where}: {key}={value}: no {' and '.join(missing)} in this folder; give a {what} "
                        "(the output_dir of a training run, or a save_pretrained folder)")
    return path


def check_local_or_hub(value, key: str, where: str, local_choices, kind: str = "model",
                       needs: tuple[str, ...] = ("config.json",), cached=None) -> None:
    """``value`` is a local folder (checked like :func:`check_folder`), one of ``local_choices``, or a hub id
    that the hub can serve now (or that ``cached(value)`` finds in the local cache)."""
    text = str(value)
    choices = list(local_choices)
    if text in choices:
        return
    if is_local(text):
        check_folder(text, key, where, needs, what=f"{kind} folder")
        return
    reason = hub_unreachable()
    if reason is None or (cached is not None and cached(text)):
        return
    local = f"one of {', '.join(choices)} or a local {kind} folder" if choices else f"a local {kind} folder"
    raise UserError(
        f"{where}: {key}={text} is not a local folder, and the hub is unreachable ({reason})"
        f"{did_you_mean(text, choices)}; use {local}"
    )


def model_in_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # not a valid repo id: not cached either
        return False


def dataset_in_cache(repo_id: str) -> bool:
    """``repo_id`` is in datasets' cache or the hub cache, so that an offline load may still find it."""
    try:
        from datasets import config
        from huggingface_hub import scan_cache_dir

        if (Path(config.HF_DATASETS_CACHE) / repo_id.replace("/", "___")).is_dir():
            return True
        return any(r.repo_id == repo_id and r.repo_type == "dataset" for r in scan_cache_dir().repos)
    except Exception:  # no cache folder yet, or not a repo id: not cached
        return False


def check_number(value, key: str, where: str, minimum=None, above=None, maximum=None, fix: str = "") -> None:
    """``value`` is a number >= ``minimum`` / > ``above`` / <= ``maximum``; ``None`` (unset) passes."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{where}: {key}={value!r} must be a number{fix and '; ' + fix}")
    bad = (minimum is not None and value < minimum) or (above is not None and value <= above) or (
        maximum is not None and value > maximum)
    if bad:
        rule = " and ".join(s for s in (minimum is not None and f">= {minimum}", above is not None and f"> {above}",
                                        maximum is not None and f"<= {maximum}") if s)
        raise UserError(f"{where}: {key}={value} must be {rule}{fix and '; ' + fix}")
