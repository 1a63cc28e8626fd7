"""Pretext tasks on one encoder family: relative patch position, inpainting, colorization.

Each trains its model (which makes its own targets from ``pixel_values``) with a plain Trainer, saves
it, probes h = f(x) against the baselines and writes the model card; inpainting and colorization also
draw their outputs on test images (``inpainting.png``, ``colorization.png``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from transformers import set_seed

from hf_replearn.data.images import load_image_dataset, split_arrays
from hf_replearn.errors import UserError
from hf_replearn.tasks import register_task
from hf_replearn.tasks.common import (
    ImageEncoderArgs,
    ImageRecipe,
    build_or_explain,
    init_and_adapt,
    probe_and_card,
    single_view_trainer,
    train_and_save,
)


@dataclass
class ContextModelArgs(ImageEncoderArgs):
    """ContextConfig fields (``models/context/configuration_context.py``)."""

    patch_size: int = 8
    gap: int = 2
    jitter: int = 1
    classifier_hidden_dim: int = 256


@dataclass
class InpaintingModelArgs(ImageEncoderArgs):
    """InpaintingConfig fields (``models/inpainting/configuration_inpainting.py``)."""

    mask: Literal["central", "random_block", "random_region"] = "central"
    mask_fraction: float = 0.25
    adversarial_weight: float = 0.0


@dataclass
class ColorizationModelArgs(ImageEncoderArgs):
    """ColorizationConfig fields (``models/colorization/configuration_colorization.py``)."""

    ab_scale: float = 110.0


@dataclass
class ContextRecipe(ImageRecipe):
    model: ContextModelArgs = field(default_factory=ContextModelArgs)


@dataclass
class InpaintingRecipe(ImageRecipe):
    model: InpaintingModelArgs = field(default_factory=InpaintingModelArgs)


@dataclass
class ColorizationRecipe(ImageRecipe):
    model: ColorizationModelArgs = field(default_factory=ColorizationModelArgs)


def build_model(recipe, num_channels: int, image_size: int):
    import hf_replearn.models  # noqa: F401
    from transformers import AutoConfig, AutoModel

    fields = recipe.model.config_kwargs()
    config = build_or_explain(
        recipe, lambda: AutoConfig.for_model(recipe.task, num_channels=num_channels, image_size=image_size, **fields)
    )
    return AutoModel.from_config(config)


@torch.no_grad()
def draw_outputs(model, recipe, test_pixels: np.ndarray) -> dict[str, str]:
    from hf_replearn.evaluation.plots import image_grid

    model.eval()
    x = torch.from_numpy(np.asarray(test_pixels[:10])).float().div(255).to(model.device)
    if recipe.task == "inpainting":
        out = model(x)
        rows = [x, x * (1 - out.masks), out.reconstructions]
        image_grid(torch.stack(rows).cpu().numpy(), recipe.output_dir / "inpainting.png",
                   row_labels=["input", "masked", "completed"], title=f"Inpainting ({recipe.model.mask} masks)")  # fmt: skip
        return {"Pictures": "![inpainting](inpainting.png)"}
    if recipe.task == "colorization":
        out = model(x)
        grey = model.lab(x)[0].repeat(1, 3, 1, 1)
        image_grid(torch.stack([grey, out.colorized, x]).cpu().numpy(), recipe.output_dir / "colorization.png",
                   row_labels=["L", "colorized", "truth"], title="Colorization from lightness")  # fmt: skip
        return {"Pictures": "![colorization](colorization.png)"}
    return {}


def _run(recipe) -> dict[str, float]:
    from hf_replearn.training.distributed import is_main_process

    recipe.evaluation.validate()
    set_seed(recipe.seed)
    dataset = load_image_dataset(recipe.data, recipe.dataset_limit)
    num_channels, image_size, _ = dataset["train"][0]["pixel_values"].shape
    if recipe.task == "colorization" and num_channels != 3:
        raise UserError(
            f"{recipe.source}: colorization predicts colour from lightness, but dataset `{recipe.data.name}` has "
            f"{num_channels}-channel (grayscale) images; use data.name=emoji (colour emoji, "
            "`apt-get install fonts-noto-color-emoji unicode-data`) or another RGB dataset"
        )
    model = init_and_adapt(recipe, build_model(recipe, num_channels, image_size))
    trainer = single_view_trainer(recipe, model, dataset["train"])
    model, results = train_and_save(recipe, trainer, model)
    if not is_main_process():  # pictures, probes and card: the main process only (the weights are the same)
        return results
    sections = draw_outputs(model, recipe, split_arrays(dataset["test"])[0])  # one batch read, not row by row
    return probe_and_card(recipe, model, dataset, lambda: build_model(recipe, num_channels, image_size), results, sections)


register_task("context", ContextRecipe)(_run)
register_task("inpainting", InpaintingRecipe)(_run)
register_task("colorization", ColorizationRecipe)(_run)
