"""Model cards: README.md with YAML metadata the Hub indexes, written from a run's outputs.

The metadata (built with huggingface_hub's ``ModelCardData``) holds:

- ``model-index``: one entry per number in ``results.json`` (``metric_type`` = its key), on the
  evaluation dataset, so the Hub shows the run's evaluation results;
- ``datasets``, ``base_model`` (absent when trained from scratch), ``library_name: transformers``,
  ``tags`` (``hf-replearn`` and the task name);
- ``hyperparameters``: the recipe, flattened to dotted keys (``training.learning_rate``);
- ``reproduce``: the command that reproduces the run.

The body repeats them for people, with the run's plots (``*.png`` in the output directory).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from hf_replearn.errors import UserError
from hf_replearn.training.outputs import RESULTS_FILE, atomic_write_text

CARD_FILE = "README.md"
# Where a recipe may name its data and its starting checkpoint; the first key present wins.
_DATASET_KEYS = ("data.dataset", "data.name", "data.path", "dataset")
_BASE_MODEL_KEYS = ("model.pretrained_model_name_or_path", "model.base_model", "model.name_or_path", "base_model")


@dataclasses.dataclass
class CardInfo:
    """Everything a card says about one run."""

    model_name: str
    """The repo id (``team/name``) or a display name."""
    task: str
    """The hf_replearn task, e.g. ``simclr``."""
    results: dict
    """Metric name -> number, as in ``results.json``."""
    datasets: list[str] = dataclasses.field(default_factory=list)
    base_model: str | None = None
    hyperparameters: dict = dataclasses.field(default_factory=dict)
    command: str = ""
    plots: list[str] = dataclasses.field(default_factory=list)
    """Paths of images relative to the output directory (uploaded next to the card)."""
    hub_task_type: str = "feature-extraction"
    """The Hub's task type for ``model-index`` (representation models: feature-extraction)."""
    eval_split: str = "test"


def flatten(tree: dict, prefix: str = "") -> dict:
    """``{"training": {"lr": 1}}`` -> ``{"training.lr": 1}``; ``None`` values are dropped."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif value is not None:
            flat[name] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return flat


def eval_results(info: CardInfo) -> list[EvalResult]:
    dataset = info.datasets[0] if info.datasets else "unspecified"
    out = []
    for metric, value in sorted(info.results.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue  # results.json stores a diverged metric as null: nothing to index
        out.append(EvalResult(task_type=info.hub_task_type, dataset_type=dataset, dataset_name=dataset,
                              dataset_split=info.eval_split, metric_type=metric, metric_value=value))
    return out


def build_model_card(info: CardInfo) -> ModelCard:
    data = ModelCardData(
        model_name=info.model_name, base_model=info.base_model, datasets=info.datasets or None,
        library_name="transformers", tags=["hf-replearn", info.task], eval_results=eval_results(info) or None,
        hyperparameters=info.hyperparameters or None, reproduce=info.command or None,
    )
    lines = [f"# {info.model_name}", "",
             f"A `{info.task}` representation model trained with hf_replearn on "
             f"{', '.join(info.datasets) or 'an unnamed dataset'}"
             f"{f', starting from `{info.base_model}`' if info.base_model else ', from scratch'}.", ""]
    if info.results:
        lines += ["## Evaluation", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(info.results.items())] + [""]
    if info.command:
        lines += ["## Reproduce", "", "```bash", info.command, "```", ""]
    if info.hyperparameters:
        lines += ["## Hyperparameters", "", "| key | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(info.hyperparameters.items())] + [""]
    if info.plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in info.plots] + [""]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else f"`{value}`" if isinstance(value, str) else str(value)


def read_results(output_dir: Path) -> dict:
    path = Path(output_dir) / RESULTS_FILE
    if not path.is_file():
        return {}
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not valid JSON ({err}); rerun the evaluation or delete the file") from None
    if not isinstance(results, dict):
        raise UserError(f"{path} must hold a JSON object of metric names to numbers")
    return results


def find_plots(output_dir: Path) -> list[str]:
    output_dir = Path(output_dir)
    return sorted(p.relative_to(output_dir).as_posix() for p in output_dir.rglob("*.png")
                  if not any(part.startswith(("checkpoint-", ".")) for part in p.relative_to(output_dir).parts))


def card_info_from_recipe(recipe, results: dict, output_dir: Path | None = None) -> CardInfo:
    """A card for a recipe run: hyperparameters from the recipe, command, datasets and base model."""
    flat = flatten({k: v for k, v in recipe.to_dict().items() if k != "hub"})
    datasets = [str(flat[k]) for k in _DATASET_KEYS if k in flat][:1]
    base = next((str(flat[k]) for k in _BASE_MODEL_KEYS if k in flat), None)
    hub = getattr(recipe, "hub", None)
    return CardInfo(
        model_name=(hub.hub_model_id if hub is not None and hub.hub_model_id else recipe.task),
        task=recipe.task, results=dict(results), datasets=datasets, base_model=base, hyperparameters=flat,
        command=recipe.command or (f"hf-replearn train {recipe.source}" if recipe.source != "<dict>" else ""),
        plots=find_plots(output_dir or recipe.output_dir),
    )


def write_model_card(output_dir: Path, card: ModelCard) -> Path:
    path = Path(output_dir) / CARD_FILE
    atomic_write_text(path, str(card))
    return path
