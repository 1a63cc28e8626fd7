"""CPC on speech: train -> save -> phone and speaker probes against MFCC, a random and a supervised network.

Setup: the speech corpus (``data``: espeak-ng speakers, or a saved DatasetDict) and a CPCModel (``model``).
Train: ReplearnTrainer (transformers Trainer, atomic checkpoints) on random 1.28 s windows; the model's output
carries the InfoNCE loss.
Evaluate: linear phone (per frame) and speaker (per utterance) probes on frozen features (``evaluation``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from transformers import set_seed

from hf_replearn.config import Recipe
from hf_replearn.data.speech import SpeechDataConfig, WaveformCropCollator, load_speech_dataset
from hf_replearn.evaluation.speech_probes import (SpeechProbeConfig, evaluate_speech_representations, shown_in_speech_table,
                                                speech_probe_table)


@dataclass
class CPCModelArgs:
    """The CPCConfig fields a recipe sets (see ``models/cpc/configuration_cpc.py``)."""

    hidden_size: int = 256
    context_size: int = 256
    num_prediction_steps: int = 12
    num_negatives: int = 10
    negative_sampling: str = "same_sequence"
    """``same_sequence``, ``same_speaker`` or ``mixed``."""


@dataclass
class CPCRecipe(Recipe):
    data: SpeechDataConfig = field(default_factory=SpeechDataConfig)
    model: CPCModelArgs = field(default_factory=CPCModelArgs)
    evaluation: SpeechProbeConfig = field(default_factory=SpeechProbeConfig)


def build_model(recipe: CPCRecipe):
    import hf_replearn.models  # noqa: F401  (registers the Auto classes)
    from hf_replearn.errors import UserError
    from hf_replearn.models.cpc import CPCConfig, CPCModel

    m = recipe.model
    try:
        config = CPCConfig(hidden_size=m.hidden_size, context_size=m.context_size, num_prediction_steps=m.num_prediction_steps,
                           num_negatives=m.num_negatives, negative_sampling=m.negative_sampling)
    except ValueError as err:
        raise UserError(f"{recipe.source}: model: {err}") from None
    return CPCModel(config)


def run(recipe: CPCRecipe) -> dict[str, float]:
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.training.args import make_training_args
    from hf_replearn.utils.distributed import is_main_process, main_process_first
    from hf_replearn.training.lifecycle import bounded_by_max_steps, train_and_save
    from hf_replearn.training.trainer import ReplearnTrainer

    recipe.evaluation.validate()
    set_seed(recipe.seed)
    model = build_model(recipe)
    with main_process_first():  # the main process synthesizes the corpus into the cache, the others load it
        dataset = load_speech_dataset(recipe.data, recipe.dataset_limit, recipe.seed, model.config.receptive_field)

    args = make_training_args(
        recipe, per_device_train_batch_size=8, learning_rate=2e-4, lr_scheduler_type="constant", num_train_epochs=10,
        remove_unused_columns=False, dataloader_drop_last=True,
    )  # fmt: skip
    trainer = ReplearnTrainer(model=model, args=args,
                              train_dataset=dataset["train"].with_format("numpy", columns=["audio", "speaker"]),
                              data_collator=WaveformCropCollator(recipe.data.crop_samples, recipe.seed))
    model, results = train_and_save(recipe, trainer, model)
    if not is_main_process():  # the probes and the t-SNE plot: the main process only (the weights are the same)
        return results

    start = time.perf_counter()
    # a smoke run's max_steps bounds the trainings of the evaluation too: the supervised baseline's steps and
    # the logistic-regression probes' solver iterations (on tens of thousands of frames, the probes' main cost)
    evaluation = dataclasses.replace(
        recipe.evaluation, max_iter=bounded_by_max_steps(recipe, recipe.evaluation.max_iter, "evaluation.max_iter"))
    if "supervised" in evaluation.baselines:
        steps = bounded_by_max_steps(recipe, evaluation.supervised_steps, "evaluation.supervised_steps")
        evaluation = dataclasses.replace(evaluation, supervised_steps=steps)
        results["eval/supervised_steps"] = steps
    set_seed(recipe.seed + 1)  # the random baseline: same architecture, fresh weights
    random_model = build_model(recipe).to(model.device)
    # the supervised baseline (when named) trains on windows of CPC's length; with CPC's seed it also starts
    # from CPC's initial weights, so the two rows differ in the training objective only
    probe = evaluate_speech_representations(model, dataset, evaluation, random_init_model=random_model,
                                            plot_path=recipe.output_dir / "tsne_speakers.png",
                                            crop_samples=recipe.data.crop_samples, seed=recipe.seed)
    results.update(probe)
    results["eval/runtime_s"] = time.perf_counter() - start
    table = speech_probe_table(probe)
    print(f"\nLinear probes (test accuracy) on {recipe.data.name}:\n{table}\n")
    title = ("Phone and speaker probes (linear, frozen features)" if "phone_ids" in dataset["train"].column_names
             else "Class probes (linear, frozen features; the speaker column is each clip's class folder)")
    sections = {title: table}
    if (recipe.output_dir / "tsne_speakers.png").is_file():
        sections["t-SNE of test utterances"] = "![t-SNE of mean CPC features per utterance, by speaker](tsne_speakers.png)"
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=recipe.data.name,
                     shown=shown_in_speech_table(probe))
    return results
