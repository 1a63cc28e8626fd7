"""What ``hf_replearn.training.conv_weight_grad`` buys on this CPU: one thread, bf16 autocast, channels-last.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/conv_weight_grad.py [layers] [step] [variants]

``layers``: every convolution of the Fashion-MNIST SimCLR encoder (``recipes/simclr_fashion_mnist.yaml``: widths
32-256, stem stride 2, so maps of 14, 7, 4 and 2 pixels) with both views of a batch of 128 (256 images, the
per-process batch of the two-process run): the weight gradient by oneDNN's backward-weights kernel against the
GEMM per kernel offset, milliseconds per call, best of 5 runs of 10 calls, and which the timing keeps.
``step``: one SimCLR training step (forward, NT-Xent, backward, AdamW; no augmentation) of the same model at
batch 128 and 256, plain against routed, alternated, best of 3 runs of 10 steps.
``variants``: the same step at batch 128 (fused AdamW), best of 3 runs of 20 steps, for levers that might make it
cheaper: ``torch.compile`` (inductor) with and without the routed weight gradients (routed by the layer sizes the
timing keeps, as tracing cannot time kernels), and thinner first stages.
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


def variants(batch: int = 128) -> None:
    import functools
    import types

    def step_ms(widths, routing: str, compiled: bool) -> float:
        torch.manual_seed(0)
        model = SimCLRModel(SimCLRConfig(**{**CONFIG, "widths": widths})).to(memory_format=torch.channels_last)
        if routing == "timed":
            cwg.use_shifted_weight_grads(model)
        elif routing == "by size":  # the choice the timing makes here: GEMMs on maps of 4x4 and less, and 1x1 at 7x7
            sizes = {}
            hooks = [m.register_forward_hook(lambda m, i, o: sizes.__setitem__(m, o.shape[-1]))
                     for m in model.modules() if isinstance(m, nn.Conv2d)]  # fmt: skip
            with torch.no_grad():
                model.encoder(torch.rand(2, 1, 28, 28))
            for h in hooks:
                h.remove()
            for m, size in sizes.items():
                force = size <= 4 or (m.kernel_size[0] == 1 and size <= 7)
                m.forward = types.MethodType(functools.partial(cwg.conv2d, force=force), m)
        opt = torch.optim.AdamW(model.parameters(), 3e-3, fused=True)
        forward = torch.compile(model, dynamic=False) if compiled else model
        x, x2 = (torch.rand(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last) for _ in range(2))

        def train_step():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = forward(pixel_values=x, pixel_values_2=x2).loss
            loss.backward()
            opt.step()
            opt.zero_grad()

        for _ in range(3):  # warm-up, and the compile
            train_step()
        return best_ms(train_step, calls=20, runs=3)

    recipe = [32, 64, 128, 256]
    rows = [("recipe widths, plain", recipe, "none", False), ("recipe widths, routed", recipe, "timed", False),
            ("recipe widths, torch.compile", recipe, "none", True),
            ("recipe widths, torch.compile + routed by size", recipe, "by size", True),
            ("widths [16, 64, 128, 256], routed", [16, 64, 128, 256], "timed", False),
            ("widths [24, 48, 128, 256], routed", [24, 48, 128, 256], "timed", False)]  # fmt: skip
    print(f"| step at batch {batch} (two views each) | ms per step |\n|---|---|")
    for name, widths, routing, compiled in rows:
        print(f"| {name} | {step_ms(widths, routing, compiled):.1f} |", flush=True)


if __name__ == "__main__":
    flags = Path("/proc/cpuinfo").read_text().split("flags", 2)[1].split() if Path("/proc/cpuinfo").exists() else []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, AMX bf16: {'amx_bf16' in flags}\n")
    parts = sys.argv[1:] or ["layers", "step"]
    for part in parts:
        {"layers": layers, "step": step, "variants": variants}[part]()
