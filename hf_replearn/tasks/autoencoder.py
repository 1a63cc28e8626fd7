"""Autoencoder and beta-VAE: train -> save -> probe the code -> pictures (and MIG on sprites) -> card.

Pictures written to ``output_dir``: ``reconstructions.png`` (test images over their reconstructions),
``interpolation.png`` (decoded points on the straight line between the codes of two test images) and,
for the beta-VAE, ``traversal.png`` (one row per latent: that latent swept over [-3, 3] with the others
held at a test image's posterior mean). On ``data.name: sprites`` the beta-VAE also reports the mutual
information gap against the five known factors (``disentanglement/mig``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hf_replearn.data.images import split_arrays
from hf_replearn.evaluation.probe import extract_features
from hf_replearn.models.autoencoder.configuration_autoencoder import AutoencoderConfig
from hf_replearn.models.beta_vae.configuration_beta_vae import BetaVAEConfig
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


@config_section(AutoencoderConfig, exclude=ENCODER_FIELDS_NOT_SET)
class AutoencoderModelArgs(ImageModelArgs):
    """The ``AutoencoderConfig`` fields (``models/autoencoder/configuration_autoencoder.py``)."""


@config_section(BetaVAEConfig, exclude=ENCODER_FIELDS_NOT_SET)
class BetaVAEModelArgs(ImageModelArgs):
    """The ``BetaVAEConfig`` fields (``models/beta_vae/configuration_beta_vae.py``): the autoencoder's and ``beta``."""


@dataclass
class AutoencoderRecipe(ImageRecipe):
    model: AutoencoderModelArgs = field(default_factory=AutoencoderModelArgs)
    traversal_range: float = 3.0
    """Latent traversals sweep each latent over [-range, range]."""
    picture_steps: int = 9
    """Images per row of the interpolation and traversal pictures."""


@dataclass
class BetaVAERecipe(AutoencoderRecipe):
    model: BetaVAEModelArgs = field(default_factory=BetaVAEModelArgs)


@torch.no_grad()
def write_pictures(model, test_pixels: np.ndarray, recipe: AutoencoderRecipe) -> dict[str, str]:
    """Reconstructions, an interpolation and (beta-VAE) latent traversals as PNGs; returns card sections."""
    from hf_replearn.evaluation.plots import image_grid

    model.eval()
    out = recipe.output_dir
    device = next(model.parameters()).device
    x = torch.from_numpy(np.asarray(test_pixels[:10])).float().div(255).to(device)
    z = model.get_representation(x)  # (10, L)
    image_grid(torch.stack([x, model.decode(z)], dim=0).cpu().numpy(), out / "reconstructions.png",
               row_labels=["input", "recon"], title="Test images and their reconstructions")  # fmt: skip
    t = torch.linspace(0, 1, recipe.picture_steps, device=device)[:, None]
    line = (1 - t) * z[0] + t * z[1]  # (S, L): the straight line between two codes
    image_grid(model.decode(line)[None].cpu().numpy(), out / "interpolation.png", title="Linear interpolation in latent space")
    sections = {"Pictures": "![reconstructions](reconstructions.png)\n\n![interpolation](interpolation.png)"}
    if recipe.task == "beta_vae":
        values = torch.linspace(-recipe.traversal_range, recipe.traversal_range, recipe.picture_steps, device=device)
        rows = []
        for j in range(z.shape[1]):
            codes = z[0].repeat(len(values), 1)
            codes[:, j] = values
            rows.append(model.decode(codes))
        image_grid(torch.stack(rows).cpu().numpy(), out / "traversal.png", row_labels=[f"z{j}" for j in range(len(rows))],
                   title=f"Latent traversals over [-{recipe.traversal_range:g}, {recipe.traversal_range:g}]")  # fmt: skip
        sections["Pictures"] += "\n\n![latent traversals](traversal.png)"
    return sections


def run(recipe: AutoencoderRecipe) -> dict[str, float]:
    from hf_replearn.utils.distributed import is_main_process

    task = setup_image_task(recipe)
    dataset = task.dataset
    trainer = single_view_trainer(recipe, task.model, dataset["train"])
    model, results = train_and_save(recipe, trainer, task.model)
    if not is_main_process():  # pictures, MIG, probes and card: the main process only (the weights are the same)
        return results
    test_pixels = split_arrays(dataset["test"])[0]  # one batch read: reading the column row by row takes seconds
    sections = write_pictures(model, test_pixels, recipe)
    if recipe.task == "beta_vae" and recipe.data.name == "sprites" and recipe.data.image_size in (None, 32):
        from hf_replearn.data.sprites import FACTOR_NAMES, sprites_split
        from hf_replearn.evaluation.disentanglement import mutual_information_gap
        from hf_replearn.hub.model_card import metrics_table

        _, factors = sprites_split("test")
        mig = mutual_information_gap(extract_features(model, test_pixels), factors)
        results["disentanglement/mig"] = mig["mig"]
        results.update({f"disentanglement/mig/{name}": mig[f"mig/{k}"] for k, name in enumerate(FACTOR_NAMES)})
        sections["Disentanglement"] = ("Mutual information gap (Chen et al. 2018) on the sprites test split, overall "
                                       "and per generative factor:\n\n" +
                                       metrics_table({k: v for k, v in results.items() if k.startswith("disentanglement/")}))
    return probe_and_card(recipe, model, dataset, task.build, results, sections)
