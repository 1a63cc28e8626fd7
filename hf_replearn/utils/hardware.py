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
