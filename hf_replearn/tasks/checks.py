"""Everything a recipe names is checked before any data, model or output directory is touched.

:func:`check_recipe` runs first in ``run_recipe``: it builds the ``TrainingArguments`` (so transformers'
own checks run now, not after the data are loaded) and range-checks the values a typo makes absurd; it
checks every path (exists, is a folder, holds a ``config.json`` where a model is expected) and every name
that would go to a hub (a clear error at once when the hub is off or unreachable, listing the local
choices). :func:`check_probe_args` does the same for ``hf-replearn eval probe``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from hf_replearn.config import MINUTE_CLOCKS, key_origin
from hf_replearn.errors import UserError
from hf_replearn.hub.push import check_hub_recipe
from hf_replearn.utils.files import check_output_dir
from hf_replearn.utils.inputs import (
    check_folder,
    check_local_or_hub,
    check_number,
    dataset_in_cache,
    did_you_mean,
    hub_unreachable,
    model_in_cache,
)

logger = logging.getLogger(__name__)

# TrainingArguments field -> (minimum, strictly above, maximum). A ``float`` below 1 in the *_steps fields
# is a fraction of the run in transformers, so those only need to be > 0.
TRAINING_RANGES = {
    "learning_rate": (None, 0, None),
    "per_device_train_batch_size": (1, None, None),
    "per_device_eval_batch_size": (1, None, None),
    "gradient_accumulation_steps": (1, None, None),
    "eval_accumulation_steps": (1, None, None),
    "num_train_epochs": (0, None, None),
    "max_steps": (-1, None, None),
    "warmup_steps": (0, None, None),
    "weight_decay": (0, None, None),
    "max_grad_norm": (0, None, None),
    "adam_beta1": (0, None, 1),
    "adam_beta2": (0, None, 1),
    "adam_epsilon": (0, None, None),
    "label_smoothing_factor": (0, None, 1),
    "logging_steps": (None, 0, None),
    "save_steps": (None, 0, None),
    "eval_steps": (None, 0, None),
    "save_total_limit": (0, None, None),
    "dataloader_num_workers": (0, None, None),
}
EXAMPLES = {"learning_rate": "0.001", "per_device_train_batch_size": "32", "num_train_epochs": "3", "max_steps": "100"}


TWO_VIEW_TASKS = ("simclr", "moco", "vicreg")
"""The tasks that train on two augmented views (``TwoViewTrainer``): the ones that read ``channels_last`` and
``augment.view_size``."""


def check_recipe(recipe) -> None:
    """Raise a :class:`UserError` for the first thing in ``recipe`` that cannot work; touches nothing."""
    where = recipe.source
    check_number(recipe.dataset_limit, "dataset_limit", key_origin(where, "dataset_limit"), minimum=1, fix="use a positive number of examples")
    check_training(recipe)
    for i, minutes in enumerate(recipe.save_at_minutes):
        check_number(minutes, f"save_at_minutes[{i}]", key_origin(where, f"save_at_minutes[{i}]"), above=0,
                     fix="give minutes of training, e.g. save_at_minutes=[5,10,20,30]")
    if getattr(recipe, "channels_last", False) and recipe.task not in TWO_VIEW_TASKS:
        raise UserError(f"{key_origin(where, 'channels_last')}: channels_last=true is read by the simclr, moco and "
                        f"vicreg tasks only; remove it from this {recipe.task} recipe")
    view_size = getattr(getattr(recipe, "augment", None), "view_size", None)
    if view_size and recipe.task not in TWO_VIEW_TASKS:
        raise UserError(f"{key_origin(where, 'augment.view_size')}: augment.view_size={view_size} is read by the simclr, "
                        f"moco and vicreg tasks only; remove it from this {recipe.task} recipe")
    if view_size and getattr(recipe.model, "backbone", None):
        raise UserError(f"{key_origin(where, 'augment.view_size')}: augment.view_size={view_size} needs the toolkit's "
                        f"ResNet encoder (any input side); model.backbone={recipe.model.backbone!r} may fix its input "
                        "size: remove augment.view_size")
    if recipe.minutes_clock not in MINUTE_CLOCKS:
        raise UserError(f"{key_origin(where, 'minutes_clock')}: minutes_clock={recipe.minutes_clock!r} must be "
                        "'wall' (training time) or 'cpu' (the process's CPU time)")
    data, model = getattr(recipe, "data", None), getattr(recipe, "model", None)
    for section, check in ((data, _check_data), (model, _check_model), (getattr(recipe, "tokenizer", None), _check_tokenizer)):
        if section is not None:
            check(section, where)
    _check_head(recipe, where)
    check_hub_recipe(recipe)
    if recipe.hub.push_to_hub and hub_unreachable():
        raise UserError(f"{key_origin(where, 'hub.push_to_hub')}: hub.push_to_hub=true but no hub can be reached "
                        f"({hub_unreachable()}); set "
                        "HF_ENDPOINT to a reachable hub (see `hf-replearn hub serve`), or train without "
                        "hub.push_to_hub and push later with `hf-replearn hub push OUTPUT_DIR REPO_ID`")


def check_training(recipe) -> None:
    """Range-check the recipe's ``training`` values, then build ``TrainingArguments`` from them."""
    where, values = recipe.source, recipe.training
    for name, (minimum, above, maximum) in TRAINING_RANGES.items():
        value = values.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            example = EXAMPLES.get(name, "")
            fix = f"e.g. {name}={example}" if example else f"set {name} within that range"
            if name == "max_steps" and value < 0 and value != -1:
                fix = "-1 (the default) trains num_train_epochs; e.g. max_steps=100"
            check_number(value, f"training.{name}", key_origin(where, f"training.{name}"), minimum, above, maximum, fix)
    warmup, max_steps = values.get("warmup_steps"), values.get("max_steps")
    if isinstance(warmup, (int, float)) and warmup >= 1 and isinstance(max_steps, int) and 0 < max_steps < warmup:
        shortened = _from_command_line(where, "training.max_steps") and not _from_command_line(where, "training.warmup_steps")
        if shortened:  # a short trial run of a recipe (max_steps=2): keep its warmup, say what it means
            logger.warning("training.max_steps=%s is shorter than the recipe's warmup_steps=%s: the learning rate "
                           "never reaches its peak in this run", max_steps, warmup)
        else:
            raise UserError(f"{key_origin(where, 'training.warmup_steps')}: training.warmup_steps={warmup} is longer than "
                            f"the run (max_steps={max_steps}); use at most {max_steps} steps, or a fraction below 1 "
                            "(warmup_steps=0.1: the first 10% of the run)")
    _check_resume(recipe)
    _build_training_args(recipe)


def _check_resume(recipe) -> None:
    """``resume_from_checkpoint``: true needs a checkpoint in output_dir; a path, a checkpoint folder."""
    from hf_replearn.training.args import resume_argument, resume_checkpoint_dir

    value = resume_argument(recipe)
    where = key_origin(recipe.source, "training.resume_from_checkpoint")
    if value is True and resume_checkpoint_dir(recipe) is None:
        raise UserError(f"{where}: resume_from_checkpoint=true, but {recipe.output_dir} holds no checkpoint-N folder "
                        "to resume from; drop resume_from_checkpoint to start a new run there, or set output_dir to "
                        "the run to continue")
    if isinstance(value, str) and not Path(value).expanduser().is_dir():
        raise UserError(f"{where}: resume_from_checkpoint={value}: no such checkpoint folder; give a checkpoint-N "
                        "folder of an earlier run, or true for the latest one in output_dir")


def _from_command_line(where, key: str) -> bool:
    return key_origin(where, key).startswith("command-line")


def _build_training_args(recipe) -> None:
    """Build ``TrainingArguments`` now, so that transformers' own checks fail before any work."""
    from hf_replearn.training.args import make_training_args

    where, values = recipe.source, recipe.training
    try:
        make_training_args(recipe)
    except UserError as err:
        text = str(err)
        named = [k for k in values if re.search(rf"\b{re.escape(k)}\b", text)] or [
            k for k, v in values.items() if isinstance(v, str) and v and re.search(rf"\b{re.escape(v)}\b", text)]
        if named:
            key = f"training.{named[0]}"
            raise UserError(f"{key_origin(where, key)}: `{key}`={values[named[0]]!r} is not accepted by "
                            f"transformers.TrainingArguments: {text.split('settings: ', 1)[-1]}") from None
        raise


def _check_data(data, where: str) -> None:
    from hf_replearn.data.images import EMBEDDED, ImageDataConfig

    if isinstance(data, ImageDataConfig):
        check_number(data.image_size, "data.image_size", key_origin(where, "data.image_size"), minimum=1, fix="e.g. data.image_size=32")
        check_number(data.test_size, "data.test_size", key_origin(where, "data.test_size"), above=0, maximum=0.99, fix="e.g. data.test_size=0.25")
        check_local_or_hub(data.name, "data.name", key_origin(where, "data.name"), EMBEDDED, kind="dataset", needs=(), cached=dataset_in_cache)
    corpus = getattr(data, "corpus", None)
    if corpus is not None:
        _check_corpus(corpus, where)
    for key in ("data_dir",):
        if getattr(data, key, None):
            check_folder(getattr(data, key), f"data.{key}", where, needs=(), what="data folder")
    for split, path in (getattr(data, "data_files", None) or {}).items():
        if not Path(str(path)).expanduser().is_file():
            raise UserError(f"{key_origin(where, f'data.data_files.{split}')}: data.data_files.{split}={path}: this file does not exist; give an existing file")
    if getattr(data, "dataset", None):  # glue's text_classification: a save_to_disk folder or hub dataset id
        check_local_or_hub(data.dataset, "data.dataset", key_origin(where, "data.dataset"), (), kind="dataset", needs=(),
                           cached=dataset_in_cache)
    source = getattr(data, "source", None)
    if source is not None and hasattr(data, "data_files"):  # squad: embedded, files, or a hub dataset id
        check_local_or_hub(source, "data.source", key_origin(where, "data.source"), ("wordnet_qa", "files"), kind="dataset", needs=(),
                           cached=dataset_in_cache)
    task = getattr(data, "task", None)
    from hf_replearn.data.labelled_text import TEXT_CLASSIFICATION

    if isinstance(task, str) and hasattr(data, "data_dir") and task != TEXT_CLASSIFICATION:  # its files: read first
        from hf_replearn.data.glue import EMBEDDED_TASKS, HUB_DATASET, get_glue_task

        get_glue_task(task, f"{where}: data.task")
        if task not in EMBEDDED_TASKS and not data.data_dir and not data.data_files and hub_unreachable() \
                and not dataset_in_cache(HUB_DATASET):
            raise UserError(f"{key_origin(where, 'data.task')}: data.task={task} comes from the hub ({HUB_DATASET}), which is unreachable "
                            f"({hub_unreachable()}); set data.data_dir=<a GLUE folder>, data.data_files=..., or "
                            f"use an embedded task ({', '.join(EMBEDDED_TASKS)})")


def _check_corpus(corpus, where: str) -> None:
    from hf_replearn.data.text import CORPORA

    items = [corpus] if isinstance(corpus, str) else list(corpus)
    if len(items) == 1 and str(items[0]) in CORPORA:
        return
    if len(items) == 1 and str(items[0]).startswith("hub:"):
        name = str(items[0])[4:]
        check_local_or_hub(name, "data.corpus", key_origin(where, "data.corpus"), [], kind="dataset", cached=dataset_in_cache)
        return
    for item in items:
        if not Path(str(item)).expanduser().is_file():
            raise UserError(f"{key_origin(where, 'data.corpus')}: data.corpus={item}: not an embedded corpus{did_you_mean(item, CORPORA)} and "
                            f"this file does not exist; use one of {', '.join(CORPORA)}, existing files, or hub:<id>")


def _check_model(model, where: str) -> None:
    from hf_replearn.models.pretrained import MINILM_ALIASES

    if getattr(model, "init_from", None):  # a run's folder, or the hub repo it was pushed to
        check_local_or_hub(model.init_from, "model.init_from", key_origin(where, "model.init_from"), [], kind="run",
                           needs=("config.json", "model.safetensors"), cached=model_in_cache)
    if getattr(model, "path", None):  # a checkpoint folder, or a hub id
        check_local_or_hub(model.path, "model.path", key_origin(where, "model.path"), [], kind="checkpoint",
                           cached=model_in_cache)
    if getattr(model, "name_or_path", None):
        check_local_or_hub(model.name_or_path, "model.name_or_path", key_origin(where, "model.name_or_path"), MINILM_ALIASES, cached=model_in_cache)
    if getattr(model, "backbone", None):  # a transformers vision model as the image encoder
        check_local_or_hub(model.backbone, "model.backbone", key_origin(where, "model.backbone"), [], cached=model_in_cache)
        _check_vision_backbone(model, where)


_HEADS = {"mlm": ("path", "masked-LM", "a BERT or RoBERTa checkpoint, or drop model.path to pretrain from scratch"),
          "clm": ("path", "causal-LM", "a GPT-2 or other causal LM checkpoint, or drop model.path to pretrain from scratch"),
          "glue": ("name_or_path", "sequence-classification", "a text encoder (BERT, RoBERTa, MiniLM, ...)"),
          "squad": ("name_or_path", "question-answering", "a text encoder (BERT, RoBERTa, MiniLM, ...)")}
"""The checkpoint key of each recipe that starts from a transformers checkpoint, the head it puts on, the fix."""


def _check_head(recipe, where: str) -> None:
    """A starting checkpoint (a folder or a hub id) whose architecture has no head of the recipe's kind: refused
    before any work."""
    from hf_replearn.models.pretrained import head_problem

    if recipe.task not in _HEADS:
        return
    key, head, fix = _HEADS[recipe.task]
    path = getattr(recipe.model, key, None)
    problem = path and head_problem(path, head)
    if problem:
        raise UserError(f"{key_origin(where, f'model.{key}')}: model.{key}={path}: {problem}; give {fix}")


def _check_vision_backbone(model, where: str) -> None:
    """A backbone (a folder or a hub id) whose model takes no images (a language model): refused before any work.
    Remote code is not run to check it."""
    from hf_replearn.models.encoders import not_a_vision_model
    from hf_replearn.models.pretrained import checkpoint_config

    if getattr(model, "trust_remote_code", False):
        return
    config = checkpoint_config(model.backbone)
    folder = Path(str(model.backbone)).expanduser()
    if config is None and (folder / "config.json").is_file():
        raise UserError(f"{key_origin(where, 'model.backbone')}: model.backbone={model.backbone}: its config.json does "
                        "not load; give a transformers vision model's folder")
    problem = config is not None and not_a_vision_model(config)
    if problem:
        raise UserError(f"{key_origin(where, 'model.backbone')}: model.backbone={model.backbone}: {problem}; give a "
                        "transformers vision model (ViT, DINOv2, ResNet, ConvNeXt, ...)")


def _check_tokenizer(tokenizer, where: str) -> None:
    if getattr(tokenizer, "path", None):
        check_folder(tokenizer.path, "tokenizer.path", key_origin(where, "tokenizer.path"), needs=(), what="tokenizer folder")


def check_probe_args(args) -> None:
    """``hf-replearn eval probe``: the models, the data set and the numbers, before any work. The output
    directory is checked here when given; the default one (``probe.default_output_dir``) once the models are
    known."""
    from hf_replearn.data.images import EMBEDDED
    from hf_replearn.data.labelled_text import TEXT_FILES
    from hf_replearn.evaluation.probe_data import TEXT_EMBEDDED
    from hf_replearn.evaluation.probe import PROBE_SYNTAX
    from hf_replearn.models.pretrained import lora_merged_model

    for model in args.model:  # a LoRA run is probed through its merged model (load_probe_model)
        check_local_or_hub(lora_merged_model(model) or model, "--model", "eval probe", (), kind="model")
    for option in ("seeds", "dataset_limit", "image_size", "feature_grid", "batch_size", "max_length"):
        check_number(getattr(args, option), f"--{option.replace('_', '-')}", "eval probe", minimum=1,
                     fix=f"pass --{option.replace('_', '-')} 1 or more")
    if not Path(args.dataset).expanduser().exists():  # a csv/jsonl file or a folder is read as it is
        if Path(args.dataset).suffix.lower() in TEXT_FILES:
            raise UserError(f"eval probe: --dataset={args.dataset}: no such file (from {Path.cwd()}); give the path of "
                            f"an existing {'/'.join(TEXT_FILES)} file")
        check_local_or_hub(args.dataset, "--dataset", "eval probe", [*EMBEDDED, *TEXT_EMBEDDED, "espeak"],
                           kind="dataset", needs=(), cached=dataset_in_cache)
    if args.output_dir:
        check_output_dir(Path(args.output_dir), overwrite=args.overwrite, syntax=PROBE_SYNTAX)
