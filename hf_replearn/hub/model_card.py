"""Model cards (README.md in an output directory) with YAML metadata the Hub reads.

The metadata (built with huggingface_hub's ``ModelCardData``) holds:

- ``model-index``: one entry per evaluation number in ``results.json`` (``metric_type`` = its key), on the
  evaluation dataset, so the Hub shows the run's evaluation results; as transformers' own Trainer cards, not
  the run's bookkeeping (``train/``, ``model/``, ``data/`` keys, timings, spreads over label subsets,
  a chosen C, chance levels), which the card's body still lists;
- ``datasets``, ``base_model`` (absent when trained from scratch), ``library_name``, ``tags``
  (``hf_replearn``, the task name, ``representation-learning``); ``datasets`` and ``base_model`` only as repo ids
  (:func:`metadata_id`: the Hub refuses a push whose card names a local path there), the body names any source;
- ``hyperparameters``: the recipe, flattened to dotted keys (``training.learning_rate``);
- ``reproduce``: the command that reproduces the run.

The body repeats them for people, then the task's own sections (tables, plots), the run's other plots
(``*.png`` in the output directory) and the recipe as YAML.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from hf_replearn.errors import UserError
from hf_replearn.utils.files import RESULTS_FILE, atomic_write_text

CARD_FILE = "README.md"
# Where a recipe may name its data and its starting checkpoint; the first key present wins.
_DATASET_KEYS = ("data.dataset", "data.name", "data.path", "dataset")
_BASE_MODEL_KEYS = ("model.pretrained_model_name_or_path", "model.base_model", "model.name_or_path", "model.path",
                    "model.init_from", "base_model")
# An image recipe's transformers backbone is its start only when its weights were loaded (backbone_pretrained).


DESCRIPTIONS = {
    "clm": "A causal language model",
    "clm_incontext": "A causal language model for in-context learning",
    "mlm": "A masked language model",
    "word2vec": "Word vectors (skip-gram with negative sampling)",
    "cpc": "A speech representation model (contrastive predictive coding)",
    "glue": "A sentence classifier",
    "squad": "An extractive question-answering model",
    "finetune_images": "An image classifier (a pretrained or fresh encoder fine-tuned end to end with a linear head)",
    "clip": "An image-text dual encoder (contrastive, CLIP-style)",
    "simclr": "An image encoder (SimCLR: contrastive, augmented views of each image)",
    "moco": "An image encoder (MoCo: contrastive, momentum encoder and queue)",
    "vicreg": "An image encoder (VICReg: variance-invariance-covariance)",
    "rotation": "An image encoder (pretext task: predicting the rotation)",
    "context": "An image encoder (pretext task: the relative position of two patches)",
    "inpainting": "An image encoder (pretext task: inpainting a masked region)",
    "colorization": "An image encoder (pretext task: colorization)",
    "autoencoder": "An autoencoder",
    "beta_vae": "A beta-VAE",
}
"""The card's first sentence: what the run made. Every task of ``tasks.TASKS`` has one (tests/hub)."""


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
    sections: dict = dataclasses.field(default_factory=dict)
    """Markdown sections the task adds, title -> text (a probe table, a plot)."""
    recipe_yaml: str = ""
    hub_task_type: str = "representation-learning"
    """The task ``type`` in ``model-index``."""
    library_name: str = "hf_replearn"
    """``hf_replearn`` when the model needs ``import hf_replearn.models`` to load; ``transformers`` if not."""
    eval_split: str = "test"
    shown: set = dataclasses.field(default_factory=set)
    """Keys of ``results`` that a section already shows in another form (a probe table's cells): not listed again."""


def flatten(tree: dict, prefix: str = "") -> dict:
    """``{"training": {"lr": 1}}`` -> ``{"training.lr": 1}``; ``None`` values are dropped."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif value is not None:
            flat[name] = _yaml_value(value)
    return flat


def _yaml_value(value):
    """A scalar, or a list of scalars, as it is (YAML writes both); anything else as its text."""
    scalar = (bool, int, float, str)
    if isinstance(value, scalar):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, scalar) for v in value):
        return list(value)
    return str(value)


_BOOKKEEPING = ("train/", "train_", "model/", "data/")


def is_evaluation_metric(key: str) -> bool:
    """Whether a ``results.json`` key is an evaluation result of the model (indexed in ``model-index``)."""
    *groups, last = parts = key.split("/")
    return not (
        key.startswith(_BOOKKEEPING)
        or any(g.endswith(("_std", "_C")) for g in groups)  # a spread over label subsets; the C cross-validation chose
        or last.endswith(("_s", "runtime", "_per_second", "steps"))  # timings, step counts
        or last.endswith("_std") and not last.endswith("mean_std")  # a spread over seeds (not the mean_std pooling)
        or last.startswith("supervised_")  # how the CPC recipe's supervised baseline trained
        or "chance" in parts or "majority" in parts  # a reference level, not the model's
        or last.endswith(("epoch", "tokens", "windows", "total"))  # how much was seen or scored
        or last.endswith("_thresh")  # SQuAD v2's best no-answer threshold: a setting the scoring found
    )  # fmt: skip


def eval_results(info: CardInfo) -> list[EvalResult]:
    dataset = info.datasets[0] if info.datasets else "unspecified"
    out = []
    for metric, value in sorted(info.results.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue  # results.json stores a diverged metric as null: nothing to index
        if not is_evaluation_metric(metric):
            continue
        out.append(EvalResult(task_type=info.hub_task_type, task_name=info.task, dataset_type=dataset_type(dataset),
                              dataset_name=dataset, dataset_split=info.eval_split, metric_type=metric,
                              metric_name=metric, metric_value=value))
    return out


def is_repo_id(value) -> bool:
    """Whether ``value`` has the form of a hub repo id (``name`` or ``namespace/name``, huggingface_hub's
    ``validate_repo_id``): what the Hub's check of a card's ``base_model`` and ``datasets`` takes."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except (HFValidationError, TypeError):
        return False
    return True


def metadata_id(value: str | None) -> str | None:
    """``value`` as the card's ``base_model`` / ``datasets`` metadata may hold it: a repo id (the shipped MiniLM's
    folder or alias as its hub id); None for a local path or a name no repo could have, which the Hub's metadata
    check refuses ("... is not valid. Use a model id from https://hf.co/models"), failing the whole push."""
    from hf_replearn.models.pretrained import MINILM_ALIASES, package_model

    if not value:
        return None
    found = package_model(value)
    if value in MINILM_ALIASES or (found and found[0] == MINILM_ALIASES[1]):
        return MINILM_ALIASES[-1]
    return value if is_repo_id(value) and not Path(value).expanduser().exists() else None


def dataset_type(name: str) -> str:
    """A model-index entry's ``dataset.type`` (a dataset id there, its ``name`` free text): ``name`` as
    :func:`metadata_id` takes it, else its last path part with what no repo id holds turned to dashes."""
    import re

    return metadata_id(name) or re.sub(r"[^\w.-]+", "-", Path(name).name or name).strip("-.") or "unspecified"


def build_model_card(info: CardInfo) -> ModelCard:
    datasets = [d for d in map(metadata_id, info.datasets) if d]
    data = ModelCardData(
        model_name=info.model_name, base_model=metadata_id(info.base_model), datasets=datasets or None,
        library_name=info.library_name, tags=["hf_replearn", info.task, "representation-learning"],
        eval_results=eval_results(info) or None,
        hyperparameters=info.hyperparameters or None, reproduce=info.command or None,
    )
    lines = [f"# {info.model_name}", "",
             f"{DESCRIPTIONS.get(info.task, f'A `{info.task}` representation model')} trained with hf_replearn on "
             f"{', '.join(info.datasets) or 'an unnamed dataset'}"
             f"{f', starting from `{info.base_model}`' if info.base_model else ', from scratch'}.", ""]
    for title, text in info.sections.items():
        lines += [f"## {title}", "", text.strip(), ""]
    # The numbers no task section shows yet: the evaluation results (under the task's own Evaluation if any),
    # then the run's bookkeeping.
    shown = "\n".join(info.sections.values())
    rest = {k: v for k, v in sorted(info.results.items()) if f"| {k} |" not in shown and k not in info.shown}
    evaluation = {k: v for k, v in rest.items() if is_evaluation_metric(k)}
    training = {k: v for k, v in rest.items() if k not in evaluation}
    titles = ("Other results" if "Evaluation" in info.sections else "Evaluation", "Training run")
    for title, metrics in zip(titles, (evaluation, training)):
        if metrics:
            lines += [f"## {title}", "", metrics_table(metrics), ""]
    if info.command:
        lines += ["## Reproduce", "", "```bash", info.command, "```", ""]
    if info.hyperparameters and not info.recipe_yaml:  # the recipe below holds the same settings, as YAML
        lines += ["## Hyperparameters", "", "| key | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(info.hyperparameters.items())] + [""]
    plots = [p for p in info.plots if f"({p})" not in shown]  # not already in a task's section
    if plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    if info.recipe_yaml:
        lines += ["## Recipe", "", "```yaml", info.recipe_yaml.strip(), "```", ""]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))


def metrics_table(results: dict, evaluation_only: bool = False) -> str:
    """A markdown table of ``results`` (metric name -> value), by name; ``evaluation_only``: the evaluation
    results alone (:func:`is_evaluation_metric`), as a task's Evaluation section shows them."""
    rows = sorted((k, v) for k, v in results.items() if not evaluation_only or is_evaluation_metric(k))
    return "\n".join(["| metric | value |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in rows])


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


def card_info_from_recipe(recipe, results: dict, output_dir: Path | None = None, dataset_name: str | None = None,
                          base_model: str | None = None, sections: dict | None = None, shown=()) -> CardInfo:
    """A card for a recipe run: hyperparameters from the recipe, command, datasets and base model
    (``dataset_name`` / ``base_model`` when given, else looked up in the recipe)."""
    flat = flatten({k: v for k, v in recipe.to_dict().items() if k != "hub"})
    datasets = [dataset_name] if dataset_name else [str(flat[k]) for k in _DATASET_KEYS if k in flat][:1]
    base = base_model or next((str(flat[k]) for k in _BASE_MODEL_KEYS if k in flat), None)
    if base is None and flat.get("model.backbone") and flat.get("model.backbone_pretrained"):
        base = str(flat["model.backbone"])
    hub = getattr(recipe, "hub", None)
    return CardInfo(
        model_name=(hub.hub_model_id if hub is not None and hub.hub_model_id else recipe.task),
        task=recipe.task, results=dict(results), datasets=datasets, base_model=base, hyperparameters=flat,
        command=recipe.command or (f"hf-replearn train {recipe.source}" if recipe.source != "<dict>" else ""),
        plots=find_plots(output_dir or recipe.output_dir), sections=dict(sections or {}),
        recipe_yaml=yaml.safe_dump(recipe.to_dict(), sort_keys=False), shown=set(shown),
    )


def save_model_card(output_dir: Path, card: ModelCard) -> Path:
    """Write ``output_dir/README.md`` (only the main process, under several)."""
    from hf_replearn.utils.distributed import is_main_process

    path = Path(output_dir) / CARD_FILE
    if is_main_process():
        atomic_write_text(path, str(card))
    return path


def card_metadata(recipe, results: dict, dataset_name: str | None = None, base_model: str | None = None) -> dict:
    """The card's YAML front matter as a dict."""
    info = card_info_from_recipe(recipe, results, dataset_name=dataset_name, base_model=base_model)
    return build_model_card(info).data.to_dict()


def write_model_card(output_dir, recipe, results: dict, sections: dict | None = None, dataset_name=None,
                     base_model=None, shown=()) -> Path:
    """Write OUTPUT_DIR/README.md for a finished recipe run: metadata, the reproduce command, ``sections``
    (``shown``: the result keys they show in another form than ``| key |``)."""
    info = card_info_from_recipe(recipe, results, Path(output_dir), dataset_name, base_model, sections, shown)
    return save_model_card(output_dir, build_model_card(info))
