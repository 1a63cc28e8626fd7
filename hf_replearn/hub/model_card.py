"""Model cards (README.md in an output directory) with YAML metadata the hub reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from hf_replearn.training.outputs import atomic_write_text


def card_metadata(recipe, results: dict[str, float], dataset_name: str | None = None, base_model: str | None = None) -> dict:
    """YAML front matter: library, tags, datasets, base model and a model-index with the run's results."""
    meta = {"library_name": "hf_replearn", "tags": ["hf_replearn", recipe.task, "representation-learning"]}
    if dataset_name:
        meta["datasets"] = [dataset_name]
    if base_model:
        meta["base_model"] = base_model
    metrics = [{"type": key, "name": key, "value": round(float(value), 6)} for key, value in sorted(results.items()) if value is not None]
    if metrics:
        meta["model-index"] = [
            {
                "name": recipe.hub.hub_model_id or Path(recipe.output_dir).name,
                "results": [{"task": {"type": "representation-learning", "name": recipe.task},
                             "dataset": {"name": dataset_name or "unknown", "type": dataset_name or "unknown"},
                             "metrics": metrics}],
            }
        ]  # fmt: skip
    return meta


def write_model_card(output_dir, recipe, results: dict[str, float], sections: dict[str, str], dataset_name=None, base_model=None) -> Path:
    """Write OUTPUT_DIR/README.md: metadata, the command that reproduces the run, then ``sections``."""
    meta = card_metadata(recipe, results, dataset_name, base_model)
    command = recipe.command or f"hf-replearn train {recipe.source}"
    body = [f"# {recipe.task} ({dataset_name or 'custom data'})", "", "Trained with hf_replearn. Reproduce with:", "",
            "```bash", command, "```", ""]  # fmt: skip
    for title, text in sections.items():
        body += [f"## {title}", "", text.strip(), ""]
    body += ["## Recipe", "", "```yaml", yaml.safe_dump(recipe.to_dict(), sort_keys=False).strip(), "```", ""]
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n" + "\n".join(body)
    path = Path(output_dir) / "README.md"
    atomic_write_text(path, text)
    return path
