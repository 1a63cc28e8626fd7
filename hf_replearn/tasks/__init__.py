"""The task registry: a recipe's ``task`` key names one of these.

A task module defines a recipe dataclass (a :class:`hf_replearn.config.Recipe` subclass) and a ``run``
function decorated with :func:`register_task`. ``run`` trains, evaluates and saves into
``recipe.output_dir`` and returns a flat dict of metric names to numbers; :func:`run_recipe` guards the
output directory before and writes ``results.json`` after. Modules are imported lazily from
``_TASK_MODULES`` so that ``hf-replearn --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from typing import Callable

from hf_replearn.errors import UserError

_TASK_MODULES: dict[str, str] = {
    "simclr": "hf_replearn.tasks.simclr",
    "mlm": "hf_replearn.tasks.lm", "clm": "hf_replearn.tasks.lm", "word2vec": "hf_replearn.tasks.word2vec",
    "glue": "hf_replearn.tasks.glue", "squad": "hf_replearn.tasks.squad",  # fine-tuning (issue 4)
    "cpc": "hf_replearn.tasks.cpc",
    "clm_incontext": "hf_replearn.tasks.clm_incontext",
    "moco": "hf_replearn.tasks.moco",
    "rotation": "hf_replearn.tasks.rotation",
    "autoencoder": "hf_replearn.tasks.autoencoder",
    "beta_vae": "hf_replearn.tasks.autoencoder",
    "context": "hf_replearn.tasks.pretext",
    "inpainting": "hf_replearn.tasks.pretext",
    "colorization": "hf_replearn.tasks.pretext",
    "finetune_images": "hf_replearn.tasks.finetune_images",
}


@dataclasses.dataclass
class TaskSpec:
    name: str
    recipe_cls: type
    run: Callable


_REGISTRY: dict[str, TaskSpec] = {}


def register_task(name: str, recipe_cls: type):
    def decorator(fn):
        _REGISTRY[name] = TaskSpec(name, recipe_cls, fn)
        return fn

    return decorator


def task_names() -> list[str]:
    return sorted(_TASK_MODULES)


def get_task(name, source: str = "<dict>") -> TaskSpec:
    if name not in _TASK_MODULES:
        close = difflib.get_close_matches(str(name), task_names(), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise UserError(f"{source}: unknown task `{name}`{hint} (known tasks: {', '.join(task_names())})")
    if name not in _REGISTRY:
        importlib.import_module(_TASK_MODULES[name])
    return _REGISTRY[name]


def run_recipe(recipe) -> dict[str, float]:
    """Run a parsed recipe end to end: guard the output directory, run the task, write results.json.

    Under ``accelerate launch`` every process runs this. All of them check the output directory before
    any writes to it (so they all accept or all refuse it), then train together; only the main process
    writes results.json, the model card and plots, and pushes. They leave together.
    """
    from hf_replearn.hub.push import check_hub_recipe, push_recipe
    from hf_replearn.training.distributed import barrier, init_launched_process_group, is_main_process
    from hf_replearn.training.outputs import prepare_output_dir, write_results

    spec = get_task(recipe.task, recipe.source)
    check_hub_recipe(recipe)  # a bad hub_model_id fails before hours of training, not after
    init_launched_process_group()
    prepare_output_dir(
        recipe.output_dir,
        overwrite=recipe.overwrite_output_dir,
        resuming=bool(recipe.training.get("resume_from_checkpoint")),
    )
    barrier()  # no process writes into output_dir before every process has checked it
    results = spec.run(recipe)
    try:
        if is_main_process():
            write_results(recipe.output_dir, results)
            push_recipe(recipe, results)  # when hub.push_to_hub is set; writes README.md if the task did not
    finally:
        barrier()  # the others wait for the push (and are released if it fails): they leave together
    return results
