"""Frozen features of this toolkit's image models as the probe reads them: h = f(x), or pooled stage maps.

``feature_stages`` / ``feature_grid`` (``probe.ProbeConfig``) name the small ResNet's stages and the grid each
stage map is average-pooled to; the last stage globally pooled is h itself. Both are read in one forward pass
when a probe reports them side by side (``model_and_h_features``).
"""

from __future__ import annotations

import numpy as np
import torch

from hf_replearn.errors import UserError


def is_h(stages, grid: int) -> bool:
    """The last stage globally pooled is h = f(x): read it through ``get_representation``, which every model has."""
    return list(stages) == [-1] and grid == 1


@torch.inference_mode()
def extract_features(model, pixel_values: np.ndarray, batch_size: int = 512, stages=(-1,), grid: int = 1, with_h: bool = False):
    """Frozen features of uint8 images (N, C, H, W) -> float32 (N, D): h = f(x), or pooled stage maps.

    ``stages`` and ``grid`` as ``ProbeConfig.feature_stages`` / ``feature_grid``. ``with_h``: (features, h), h taken
    from the same forward passes (the stage maps are read while h is computed), so reading both costs one pass.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    read_h = is_h(stages, grid)
    out, hs = [], []
    for start in range(0, len(pixel_values), batch_size):
        x = torch.from_numpy(np.asarray(pixel_values[start : start + batch_size])).to(device).float().div_(255)
        feats, h = (model.get_representation(x),) * 2 if read_h else stage_features(model, x, stages, grid, with_h=True)
        out.append(feats.float().cpu())
        if with_h:
            hs.append(h.float().cpu())
    model.train(was_training)
    return (torch.cat(out).numpy(), torch.cat(hs).numpy()) if with_h else torch.cat(out).numpy()


def stage_features(model, x: torch.Tensor, stages, grid: int, with_h: bool = False):
    """The small ResNet's stage maps met while ``model.get_representation(x)`` runs, pooled and concatenated
    (and, ``with_h``, that representation h beside them).

    Hooks rather than a second forward path: ``get_representation`` keeps each model's own input handling
    (colorization's Lab conversion, for one), and the hooks see exactly the encoder it uses.
    """
    encoders = check_feature_stages(model, stages)
    maps: dict[int, list[torch.Tensor]] = {}
    hooks = [
        encoder.blocks[end].register_forward_hook(lambda _m, _i, out, key=id(encoder): maps.setdefault(key, []).append(out))
        for encoder in encoders for end in encoder.stage_ends
    ]  # fmt: skip
    try:
        h = model.get_representation(x)
    finally:
        for hook in hooks:
            hook.remove()
    (stage_maps,) = maps.values()  # one encoder computes the representation
    pooled = []
    for s in stages:
        m = stage_maps[s]
        pooled.append(torch.nn.functional.adaptive_avg_pool2d(m, (min(grid, m.shape[-2]), min(grid, m.shape[-1]))).flatten(1))
    return (torch.cat(pooled, dim=1), h) if with_h else torch.cat(pooled, dim=1)


def check_feature_stages(model, stages) -> list:
    """The small ResNets in ``model`` whose ``stages`` the probe can read; a UserError when it cannot.

    The image tasks call it before training when the probe will not read h (which any model has), so a
    wrong ``evaluation.feature_stages`` stops the run at once rather than after hours of training.
    """
    from hf_replearn.models.encoders import SmallResNet

    encoders = [m for m in model.modules() if isinstance(m, SmallResNet)]
    if not encoders:
        raise UserError(
            f"evaluation.feature_stages / feature_grid read the built-in small ResNet's feature maps, and a "
            f"{type(model).__name__} without one has none; leave them at [-1] / 1 to probe h = f(x)"
        )
    n = min(len(encoder.stage_ends) for encoder in encoders)
    if any(not -n <= s < n for s in stages):
        raise UserError(f"evaluation.feature_stages {list(stages)}: the encoder has {n} stages (0..{n - 1}, or -{n}..-1)")
    return encoders


def model_features(model, train_px: np.ndarray, test_px: np.ndarray, cfg, h: bool = False):
    """(train, test) features of ``model`` as ``cfg`` reads them (``h=True``: h = f(x) whatever cfg says)."""
    stages, grid = ([-1], 1) if h else (cfg.feature_stages, cfg.feature_grid)
    return tuple(extract_features(model, px, cfg.batch_size, stages, grid) for px in (train_px, test_px))


def model_and_h_features(model, train_px: np.ndarray, test_px: np.ndarray, cfg, name: str = "model",
                       with_h: bool = True) -> dict:
    """{name: (train, test)} as ``cfg`` reads them and, when that is not h and ``with_h``, {name_h: h = f(x)}
    as well, both from one forward pass over each split."""
    if cfg.reads_h or not with_h:
        return {name: model_features(model, train_px, test_px, cfg)}
    (train, train_h), (test, test_h) = (extract_features(model, px, cfg.batch_size, cfg.feature_stages, cfg.feature_grid,
                                                         with_h=True) for px in (train_px, test_px))  # fmt: skip
    return {name: (train, test), f"{name}_h": (train_h, test_h)}
