"""The image table of ``hf-replearn eval probe``: a SimCLR checkpoint of this toolkit beside a transformers ViT.

probe_images_fashion_mnist: ``eval probe --model <simclr_fashion_mnist> --model <vit_random> --dataset fashion_mnist``
    at 1, 10 and 100 labels per class and all, 3 seeds, against raw pixels, PCA and SimCLR's encoder at random
    init. The SimCLR checkpoint is the output_dir of ``hf-replearn train recipes/simclr_fashion_mnist.yaml``, named
    by ``BENCH_SIMCLR_DIR`` (training it takes hours on a CPU, so it is not trained here). The ViT is a randomly
    initialised ``ViTModel`` for 28x28 grey images (4x4 patches: a 7x7 grid) whose parameter count is within 1.5x
    of the SimCLR encoder's; it is read at its last hidden state, mean-pooled over its tokens.

``BENCH_PROBE_LIMIT`` keeps the first N training images (default: all 60,000), ``BENCH_KEEP_DIR`` keeps the outputs,
as in bench_probe_tables.py, whose CLI runner this module shares.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from scripts.bench.bench_probe_tables import cli, load_avg, workdir
from scripts.bench.common import benchmark

VIT = dict(image_size=28, patch_size=4, num_channels=1, hidden_size=128, num_hidden_layers=6, num_attention_heads=4,
           intermediate_size=512)  # fmt: skip


def simclr_dir() -> Path:
    """``BENCH_SIMCLR_DIR``, checked: a SimCLR run's output_dir (exits with what to do otherwise)."""
    how = ("set BENCH_SIMCLR_DIR to the output_dir of `hf-replearn train recipes/simclr_fashion_mnist.yaml` "
           "(a folder with config.json and model.safetensors)")  # fmt: skip
    value = os.environ.get("BENCH_SIMCLR_DIR")
    if not value:
        sys.exit(f"probe_images_fashion_mnist needs a SimCLR Fashion-MNIST checkpoint: {how}")
    folder = Path(value).expanduser().resolve()
    config = folder / "config.json"
    if not config.is_file() or not (folder / "model.safetensors").is_file():
        sys.exit(f"BENCH_SIMCLR_DIR={value}: no config.json and model.safetensors there; {how}")
    model_type = json.loads(config.read_text()).get("model_type")
    if model_type != "simclr":
        sys.exit(f"BENCH_SIMCLR_DIR={value} holds a {model_type!r} model, not simclr; {how}")
    return folder


def random_vit(folder: Path) -> Path:
    """A randomly initialised ViTModel for 28x28 one-channel images and its image processor (pixels to [-1, 1])."""
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    ViTModel(ViTConfig(**VIT)).save_pretrained(folder)
    ViTImageProcessor(size={"height": 28, "width": 28}, image_mean=[0.5], image_std=[0.5]).save_pretrained(folder)
    return folder


def parameters(folder: Path) -> int:
    """Trainable parameters of the model in ``folder``: a SimCLR model's encoder only (its projection head is
    not probed), a ViT's whole model."""
    from transformers import AutoModel

    import hf_replearn.models  # noqa: F401  (registers this toolkit's families with AutoModel)

    model = AutoModel.from_pretrained(folder)
    return sum(p.numel() for p in getattr(model, "encoder", model).parameters()) if model.config.model_type == "simclr" \
        else sum(p.numel() for p in model.parameters())


def linked(work: Path, name: str, target: Path) -> Path:
    """``work/name`` pointing at ``target``, so that the table row carries a readable name."""
    link = work / name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)
    return link


@benchmark("probe_images_fashion_mnist")
def probe_images_fashion_mnist() -> str:
    """Fashion-MNIST: the SimCLR recipe's checkpoint (BENCH_SIMCLR_DIR) vs a random ViT of similar size, raw, PCA."""
    source = simclr_dir()  # before any work
    limit = os.environ.get("BENCH_PROBE_LIMIT")
    work, loads = workdir(), [load_avg()]
    work.mkdir(parents=True, exist_ok=True)
    cold = not (work / "cache").exists()
    simclr = linked(work, "simclr_fashion_mnist", source)
    vit = random_vit(work / "vit_random")
    sizes = {"simclr": parameters(simclr), "vit": parameters(vit)}
    ratio = max(sizes.values()) / min(sizes.values())
    if ratio > 1.5:
        sys.exit(f"the ViT has {sizes['vit']:,} parameters and the SimCLR encoder {sizes['simclr']:,}: not within 1.5x; "
                 "adjust VIT in scripts/bench/bench_probe_images.py to the checkpoint's widths")
    common = ["--dataset", "fashion_mnist", "--labels-per-class", "1,10,100", "--seeds", "3", "--no-tsne",
              *(["--dataset-limit", limit] if limit else [])]  # fmt: skip
    out = work / "probe_images"
    cli("eval", "probe", "--model", str(simclr), "--model", str(vit), *common, "--overwrite", "--output-dir", str(out),
        cache=work / "cache")  # fmt: skip
    loads.append(load_avg())
    probed = json.loads((out / "results.json").read_text())
    trained = json.loads((source / "results.json").read_text()) if (source / "results.json").is_file() else {}
    training = (f"{trained['train/steps']} steps, {trained['train/runtime_s']:.0f} s training, train loss {trained['train/loss']:.3f}"
                if {"train/steps", "train/runtime_s", "train/loss"} <= set(trained) else "its results.json not found")
    vit_shape = f"{VIT['num_hidden_layers']} layers of {VIT['hidden_size']}, {VIT['patch_size']}x{VIT['patch_size']} patches"
    return "\n".join([
        f"SimCLR: the output_dir of `hf-replearn train recipes/simclr_fashion_mnist.yaml` ({training}); its encoder "
        f"has {sizes['simclr'] / 1e6:.2f}M parameters and is read at h = f(x) (the recipe's own table also reads its "
        "stage maps pooled to 4x4; a ViT has no such stages, so this table compares h).",
        f"ViT: a randomly initialised transformers `ViTModel` ({vit_shape}, one channel, {sizes['vit'] / 1e6:.2f}M "
        f"parameters, {ratio:.2f}x apart) with a `ViTImageProcessor` (pixels to [-1, 1]); mean-pooled last hidden state.",
        f"Probe: `hf-replearn eval probe --model <simclr_fashion_mnist> --model <vit_random> {' '.join(common)}` (features "
        f"{probed['eval/features_s']:.0f} s, all {probed['eval/runtime_s']:.0f} s, from a {'cold' if cold else 'kept'} feature cache); "
        "random_init is SimCLR's encoder at fresh weights.",
        f"Load average (1 min) at start / at the end: {' / '.join(loads)}.", "",
        (out / "probe.md").read_text().strip().replace("## ", "#### "),
    ])  # fmt: skip
