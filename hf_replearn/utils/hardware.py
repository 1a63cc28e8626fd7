"""What the hardware here can do, asked by training (bf16 autocast) and evaluation (bf16 feature extraction)."""

from __future__ import annotations


def bf16_native() -> bool:
    """bf16 has hardware here: an accelerator that supports it, or a CPU with AVX-512 BF16 or AMX.

    Elsewhere PyTorch emulates bf16 on the CPU, several times slower than fp32. On this project's CPU
    (AVX-512 BF16) a SimCLR step on 28x28 images runs 1.7x faster in bf16 (BENCHMARKS.md, simclr_throughput).
    """
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    if torch.accelerator.is_available():
        return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:  # not Linux: no cheap way to tell
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def check_device(value: str | None, key: str = "--device") -> None:
    """A device the user named exists here; else a UserError that names the ones that do."""
    import torch

    from hf_replearn.errors import UserError

    if value is None:
        return
    here = ["cpu"] + [name for name, ok in (("cuda", torch.cuda.is_available()), ("mps", torch.backends.mps.is_available()))
                      if ok]  # fmt: skip
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise UserError(f"{key} {value}: not a device name; this machine has {', '.join(here)}") from None
    if device.type not in here:
        raise UserError(f"{key} {value}: no {device.type} device here (torch {torch.__version__}); "
                        f"use {' or '.join(f'{key} {d}' for d in here)}")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"{key} {value}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                        f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
