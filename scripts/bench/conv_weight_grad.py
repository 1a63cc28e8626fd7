"""What ``hf_replearn.training.conv_weight_grad`` buys on this CPU: one thread, bf16 autocast, channels-last.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/conv_weight_grad.py

``layers``: every convolution of the Fashion-MNIST SimCLR encoder (``recipes/simclr_fashion_mnist.yaml``: widths
32-256, stem stride 2, so maps of 14, 7, 4 and 2 pixels) with both views of a batch of 128 (256 images, the
per-process batch of the two-process run): the weight gradient by oneDNN's backward-weights kernel against the
GEMM per kernel offset, milliseconds per call, best of 5 runs of 10 calls, and which the timing keeps.
``step``: one SimCLR training step (forward, NT-Xent, backward, AdamW; no augmentation) of the same model at
batch 128 and 256, plain against routed, alternated, best of 3 runs of 10 steps.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hf_replearn.models.simclr.configuration_simclr import SimCLRConfig  # noqa: E402
from hf_replearn.models.simclr.modeling_simclr import SimCLRModel  # noqa: E402
from hf_replearn.training import conv_weight_grad as cwg  # noqa: E402
from scripts.bench.common import best_ms  # noqa: E402

CONFIG = dict(widths=[32, 64, 128, 256], stem_stride=2, blocks_per_stage=1, projection_dim=128, temperature=0.5,
              num_channels=1, image_size=28)  # fmt: skip


def _layer_inputs(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Conv2d, torch.Tensor]]:
    seen = []
    hooks = [m.register_forward_hook(lambda m, inp, out: seen.append((m, inp[0].detach().to(torch.bfloat16), out.detach())))
             for m in model.modules() if isinstance(m, nn.Conv2d)]  # fmt: skip
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model.encoder(x)
    for h in hooks:
        h.remove()
    return seen


def layers(batch: int = 256) -> None:
    torch.manual_seed(0)
    model = SimCLRModel(SimCLRConfig(**CONFIG)).to(memory_format=torch.channels_last)
    x = torch.rand(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    print(f"| layer (input -> output, {batch} images) | oneDNN | GEMM per offset | speed-up | kept |\n|---|---|---|---|---|")
    total = {"onednn": 0.0, "kept": 0.0}
    for conv, inp, out in _layer_inputs(model, x):
        grad_out = torch.randn_like(out).contiguous(memory_format=torch.channels_last)
        weight = conv.weight.to(torch.bfloat16)
        mask = (False, True, False)
        onednn = best_ms(lambda: cwg._onednn_grads(grad_out, inp, weight, conv.stride, conv.padding, mask), calls=10)
        shifts = best_ms(lambda: cwg.weight_grad_by_shifts(grad_out, inp, weight.shape, conv.stride, conv.padding), calls=10)
        kept = "GEMMs" if cwg._use_shifts(grad_out, inp, weight, conv.stride, conv.padding) else "oneDNN"
        total["onednn"] += onednn
        total["kept"] += shifts if kept == "GEMMs" else onednn
        k, s = conv.kernel_size[0], conv.stride[0]
        print(f"| {k}x{k}/{s} {inp.shape[1]}x{inp.shape[2]}x{inp.shape[3]} -> {out.shape[1]}x{out.shape[2]}x{out.shape[3]} "
              f"| {onednn:.2f} ms | {shifts:.2f} ms | {onednn / shifts:.2f}x | {kept} |", flush=True)  # fmt: skip
    print(f"| all layers | {total['onednn']:.1f} ms | | {total['onednn'] / total['kept']:.2f}x (what is kept) | |\n")


def step(batches=(128, 256), runs: int = 3) -> None:
    print("| batch (images; two views each) | plain | routed | speed-up | loss after 3 steps, plain / routed |\n"
          "|---|---|---|---|---|")  # fmt: skip
    for batch in batches:
        torch.manual_seed(0)
        base = SimCLRModel(SimCLRConfig(**CONFIG)).to(memory_format=torch.channels_last)
        x = torch.rand(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        x2 = torch.rand(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        ms, losses = {"plain": [], "routed": []}, {}
        models = {"plain": copy.deepcopy(base), "routed": copy.deepcopy(base)}
        cwg.use_shifted_weight_grads(models["routed"])
        opts = {k: torch.optim.AdamW(m.parameters(), 3e-3) for k, m in models.items()}

        def train_step(mode):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = models[mode](pixel_values=x, pixel_values_2=x2).loss
            loss.backward()
            opts[mode].step()
            opts[mode].zero_grad()
            return loss.item()

        for mode in models:
            losses[mode] = [train_step(mode) for _ in range(3)][-1]
        for _ in range(runs):
            for mode in models:
                start = time.perf_counter()
                for _ in range(10):
                    train_step(mode)
                ms[mode].append((time.perf_counter() - start) / 10 * 1e3)
        plain, routed = min(ms["plain"]), min(ms["routed"])
        print(f"| {batch} | {plain:.1f} ms | {routed:.1f} ms | {plain / routed:.2f}x | "
              f"{losses['plain']:.4f} / {losses['routed']:.4f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    flags = Path("/proc/cpuinfo").read_text().split("flags", 2)[1].split() if Path("/proc/cpuinfo").exists() else []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, AMX bf16: {'amx_bf16' in flags}\n")
    parts = sys.argv[1:] or ["layers", "step"]
    for part in parts:
        {"layers": layers, "step": step}[part]()
