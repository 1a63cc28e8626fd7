"""Pretext tasks on one encoder family: relative patch position, inpainting, colorization.

Each trains its model (which makes its own targets from ``pixel_values``) with a plain Trainer, saves
it, probes h = f(x) against the baselines and writes the model card; inpainting and colorization also
draw their outputs on test images (``inpainting.png``, ``colorization.png``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hf_replearn.data.images import split_arrays
from hf_replearn.errors import UserError
from hf_replearn.models.colorization.configuration_colorization import ColorizationConfig
from hf_replearn.models.context.configuration_context import ContextConfig
from hf_replearn.models.inpainting.configuration_inpainting import InpaintingConfig
from hf_replearn.recipe_sections import config_section
from hf_replearn.tasks.common import (
    ENCODER_FIELDS_NOT_SET,
    ImageModelArgs,
    ImageRecipe,
    probe_and_card,
    setup_image_task,
    single_view_trainer,
    train_and_save,
)


@config_section(ContextConfig, exclude=ENCODER_FIELDS_NOT_SET)
class ContextModelArgs(ImageModelArgs):
    """The ``ContextConfig`` fields (``models/context/configuration_context.py``)."""


@config_section(InpaintingConfig, exclude=ENCODER_FIELDS_NOT_SET)
class InpaintingModelArgs(ImageModelArgs):
    """The ``InpaintingConfig`` fields (``models/inpainting/configuration_inpainting.py``)."""


@config_section(ColorizationConfig, exclude=ENCODER_FIELDS_NOT_SET)
class ColorizationModelArgs(ImageModelArgs):
    """The ``ColorizationConfig`` fields (``models/colorization/configuration_colorization.py``)."""


@dataclass
class ContextRecipe(ImageRecipe):
    model: ContextModelArgs = field(default_factory=ContextModelArgs)


@dataclass
class InpaintingRecipe(ImageRecipe):
    model: InpaintingModelArgs = field(default_factory=InpaintingModelArgs)


@dataclass
class ColorizationRecipe(ImageRecipe):
    model: ColorizationModelArgs = field(default_factory=ColorizationModelArgs)


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


def run(recipe) -> dict[str, float]:
    from hf_replearn.utils.distributed import is_main_process

    def check_data(dataset, num_channels):
        if recipe.task == "colorization" and num_channels != 3:
            raise UserError(
                f"{recipe.source}: colorization predicts colour from lightness, but dataset `{recipe.data.name}` has "
                f"{num_channels}-channel (grayscale) images; use data.name=emoji (colour emoji, "
                "`apt-get install fonts-noto-color-emoji unicode-data`) or another RGB dataset"
            )

    task = setup_image_task(recipe, check_data)
    trainer = single_view_trainer(recipe, task.model, task.dataset["train"])
    model, results = train_and_save(recipe, trainer, task.model)
    if not is_main_process():  # pictures, probes and card: the main process only (the weights are the same)
        return results
    sections = draw_outputs(model, recipe, split_arrays(task.dataset["test"])[0])  # one batch read, not row by row
    return probe_and_card(recipe, model, task.dataset, task.build, results, sections)
