"""The task registry: a recipe's ``task`` key names one of these.

:data:`TASKS` is the one table: task name -> (module under ``hf_replearn.tasks``, name of its recipe
dataclass). A task module defines that recipe dataclass (a :class:`hf_replearn.config.Recipe` subclass)
and a function ``run(recipe) -> dict[str, float]`` that trains, evaluates and saves into
``recipe.output_dir``; :func:`run_recipe` guards the output directory before and writes ``results.json``
after. Modules are imported only when their task is asked for, so that ``hf-replearn --help`` stays fast.

Reading a recipe lives here, not in :mod:`hf_replearn.config`: only the task knows the recipe class that
a YAML mapping is parsed into; ``config`` provides the generic parsing.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import importlib
from pathlib import Path
from typing import Callable

from hf_replearn.config import Recipe, Where, apply_override, from_dict, read_yaml_mapping, yaml_key_lines
from hf_replearn.errors import UserError

TASKS: dict[str, tuple[str, str]] = {
    "simclr": ("simclr", "SimCLRRecipe"),
    "moco": ("moco", "MoCoRecipe"),
    "vicreg": ("vicreg", "VICRegRecipe"),
    "rotation": ("rotation", "RotationRecipe"),
    "autoencoder": ("autoencoder", "AutoencoderRecipe"),
    "beta_vae": ("autoencoder", "BetaVAERecipe"),
    "context": ("pretext", "ContextRecipe"),
    "inpainting": ("pretext", "InpaintingRecipe"),
    "colorization": ("pretext", "ColorizationRecipe"),
    "mlm": ("lm", "MLMRecipe"),
    "clm": ("lm", "CLMRecipe"),
    "word2vec": ("word2vec", "Word2VecRecipe"),
    "cpc": ("cpc", "CPCRecipe"),
    "clm_incontext": ("clm_incontext", "CLMInContextRecipe"),
    "glue": ("glue", "GlueRecipe"),
    "squad": ("squad", "SquadRecipe"),
    "clip": ("clip", "ClipRecipe"),
    "finetune_images": ("finetune_images", "FinetuneImagesRecipe"),
}


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    name: str
    recipe_cls: type
    run: Callable


def task_names() -> list[str]:
    return sorted(TASKS)


def get_task(name, source: str = "<dict>") -> TaskSpec:
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), task_names(), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise UserError(f"{source}: unknown task `{name}`{hint} (known tasks: {', '.join(task_names())})")
    module_name, recipe_name = TASKS[name]
    module = importlib.import_module(f"{__name__}.{module_name}")
    return TaskSpec(name, getattr(module, recipe_name), module.run)


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe file, apply ``key=value`` overrides and build the task's recipe dataclass."""
    raw = read_yaml_mapping(path, "recipe file", "recipes/*.yaml")
    lines = yaml_key_lines(Path(path).read_text(encoding="utf-8"), str(path))
    return build_recipe(raw, overrides, source=str(path), origins=lines)


def build_recipe(raw: dict, overrides=(), source: str = "<dict>", origins: dict[str, str] | None = None) -> Recipe:
    """Apply ``key=value`` overrides to a recipe mapping and build the recipe dataclass of its ``task``.

    ``origins`` maps dotted keys to where the file gave them ("FILE, line N"); messages about a key name
    its line, or the override that set it.
    """
    raw = copy.deepcopy(raw)
    origins = dict(origins or {})
    for item in overrides:
        before = _dotted_keys(raw)
        apply_override(raw, item, source, _recipe_cls(raw, source))
        key = item.partition("=")[0].strip()
        for dotted in _dotted_keys(raw):  # the key it set (maybe moved under training) and any sections it made
            if dotted not in before or dotted in (key, f"training.{key}") or dotted.startswith(key + "."):
                origins[dotted] = f"command-line override `{item}` (recipe {source})"
    if "task" not in raw:
        raise UserError(f"{source}: the recipe has no `task` key; add e.g. `task: simclr`")
    where = Where(source, origins)
    recipe = from_dict(get_task(raw["task"], source).recipe_cls, raw, where)
    recipe.source = where  # prints as the file name; later checks find each key's line through it
    return recipe


def _dotted_keys(raw: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in raw.items():
        keys.add(prefix + str(key))
        if isinstance(value, dict):
            keys |= _dotted_keys(value, f"{prefix}{key}.")
    return keys


def _recipe_cls(raw: dict, source: str) -> type:
    """The recipe class of ``raw``'s task, or the base :class:`Recipe` while the task is missing or unknown
    (the error for that comes once every override is applied: an override may set ``task``)."""
    try:
        return get_task(raw["task"], source).recipe_cls if "task" in raw else Recipe
    except UserError:
        return Recipe


def run_recipe(recipe) -> dict[str, float]:
    """Run a parsed recipe end to end: guard the output directory, run the task, write results.json.

    Under ``accelerate launch`` every process runs this. All of them check the output directory before
    any writes to it (so they all accept or all refuse it), then train together; only the main process
    writes results.json, the model card and plots, and pushes. They leave together.
    """
    from hf_replearn.hub.push import check_hub_recipe, push_recipe
    from hf_replearn.utils.distributed import barrier, init_launched_process_group, is_main_process
    from hf_replearn.utils.files import prepare_output_dir, write_results

    from hf_replearn.tasks.checks import check_recipe
    from hf_replearn.utils.files import remove_empty_dirs

    spec = get_task(recipe.task, recipe.source)
    check_recipe(recipe)  # every value, path and hub name, before data, model or output_dir are touched
    check_hub_recipe(recipe)  # a bad hub_model_id fails before hours of training, not after
    init_launched_process_group()
    created = not recipe.output_dir.exists()
    prepare_output_dir(
        recipe.output_dir,
        overwrite=recipe.overwrite_output_dir,
        resuming=bool(recipe.training.get("resume_from_checkpoint")),
    )
    barrier()  # no process writes into output_dir before every process has checked it
    try:
        results = spec.run(recipe)
    except UserError:
        if created and is_main_process():  # a check inside the task refused the run: leave no empty folder
            remove_empty_dirs(recipe.output_dir)
        raise
    try:
        if is_main_process():
            write_results(recipe.output_dir, results)
            push_recipe(recipe, results)  # when hub.push_to_hub is set; writes README.md if the task did not
    finally:
        barrier()  # the others wait for the push (and are released if it fails): they leave together
    return results
