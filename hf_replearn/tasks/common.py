"""What every image task shares: its recipe sections (data, evaluation, the encoder's fields) and the steps
after building its model (train, save, probe, model card).

Every image task (simclr.py is the shortest to read) uses these, so that the tasks differ only in
what differs (model, trainer, loss inputs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

from transformers import set_seed

from hf_replearn.config import Recipe
from hf_replearn.data.images import ImageDataConfig
from hf_replearn.evaluation.probe import ProbeConfig, evaluate_representations, probe_table
from hf_replearn.errors import UserError


@dataclass
class ImageRecipe(Recipe):
    """What every image recipe has besides its ``model``: the dataset and the evaluation of the representation."""

    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    evaluation: ProbeConfig = field(default_factory=ProbeConfig)


@dataclass
class ImageEncoderArgs:
    """The encoder f every image recipe sets under ``model`` (``ImageEncoderConfig``, ``models/encoders.py``)."""

    widths: list[int] = field(default_factory=lambda: [32, 64, 128])
    """Channels of each ResNet stage; the representation has widths[-1] dimensions."""
    blocks_per_stage: int = 1
    stem_stride: int = 1
    """1 or 2: 2 halves the resolution at the stem, so every stage costs a quarter."""

    def encoder_kwargs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(ImageEncoderArgs)}


@dataclass
class BackboneEncoderArgs(ImageEncoderArgs):
    """An image encoder that may also be any transformers vision backbone (``model.backbone``)."""

    backbone: str | None = None
    backbone_pretrained: bool = False
    trust_remote_code: bool = False

    def encoder_kwargs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(BackboneEncoderArgs)}


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
        "train/processes": int(trainer.args.world_size),  # a step's global batch: processes x per-device batch
        **logged_loss_range(trainer),
    }


def probe_and_card(recipe, model, dataset, build_random, results: dict, sections: dict | None = None) -> dict:
    """Probe ``model`` against the baselines (``build_random()`` gives the random-init encoder), write the card."""
    from hf_replearn.hub.model_card import write_model_card
    from hf_replearn.training.distributed import is_main_process

    if not is_main_process():  # probes are sklearn on one process; the others' results are not written
        return results
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


def single_view_trainer(recipe, model, train_dataset, **task_defaults):
    """The project's Trainer (atomic checkpoints) for models that compute their own loss from
    ``pixel_values`` (pretext tasks, autoencoders): the model makes its own targets (rotations, masks,
    the input itself)."""
    from hf_replearn.training.args import make_training_args
    from hf_replearn.training.trainer import ImageCollator, ReplearnTrainer

    defaults = dict(per_device_train_batch_size=256, learning_rate=1e-3, weight_decay=1e-6, lr_scheduler_type="cosine",
                    warmup_steps=0.05, num_train_epochs=10, remove_unused_columns=False, dataloader_drop_last=True)  # fmt: skip
    args = make_training_args(recipe, **{**defaults, **task_defaults})
    return ReplearnTrainer(model=model, args=args, train_dataset=train_dataset, data_collator=ImageCollator())
