"""The steps every image task shares after building its model: train, save, probe, model card.

``simclr.py`` spells them out once as the reference; the other image tasks call these so that the
tasks differ only in what differs (model, trainer, loss inputs).
"""

from __future__ import annotations

import time

from transformers import set_seed

from hf_replearn.evaluation.probe import evaluate_representations, probe_table
from hf_replearn.errors import UserError


def build_or_explain(recipe, build):
    """``build()`` a model config/model; a ValueError from the config becomes a UserError naming the recipe."""
    try:
        return build()
    except UserError:
        raise
    except ValueError as err:
        raise UserError(f"{recipe.source}: model: {err}") from None


def train_and_save(recipe, trainer, model) -> dict[str, float]:
    """Run ``trainer``, save the final weights atomically, return the training metrics."""
    from hf_replearn.training.args import resume_argument
    from hf_replearn.training.outputs import save_model_atomically
    from hf_replearn.training.trainer import logged_loss_range

    train_output = trainer.train(resume_from_checkpoint=resume_argument(recipe))
    save_model_atomically(model, recipe.output_dir)
    return {
        "train/loss": float(train_output.training_loss),
        "train/runtime_s": float(train_output.metrics["train_runtime"]),
        "train/samples_per_second": float(train_output.metrics["train_samples_per_second"]),
        "train/steps": int(train_output.global_step),
        **logged_loss_range(trainer),
    }


def probe_and_card(recipe, model, dataset, build_random, results: dict, sections: dict | None = None) -> dict:
    """Probe ``model`` against the baselines (``build_random()`` gives the random-init encoder), write the card."""
    from hf_replearn.hub.model_card import write_model_card

    start = time.perf_counter()
    set_seed(recipe.seed + 1)  # the random baseline: same architecture, fresh weights
    random_model = build_random().to(model.device) if "random_init" in recipe.evaluation.baselines else None
    probe, _ = evaluate_representations(
        model, dataset, recipe.evaluation, random_init_model=random_model, plot_path=recipe.output_dir / "tsne.png"
    )
    results.update(probe)
    results["eval/runtime_s"] = time.perf_counter() - start
    table = probe_table(probe)
    print(f"\nLinear probe (test accuracy) on {recipe.data.name}; k-NN with k={recipe.evaluation.knn_k}:\n{table}\n")
    sections = {"Representation quality": table, **(sections or {})}
    if recipe.evaluation.tsne:
        sections["t-SNE of test features"] = "![t-SNE of the test features, coloured by class](tsne.png)"
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=recipe.data.name)
    return results
