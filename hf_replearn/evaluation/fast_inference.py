"""A model evaluated on a CPU in fp32 runs its linear layers from oneDNN-packed weights and its tanh-GELU fused.

``nn.Linear`` and GPT-2's ``Conv1D`` read each weight in its plain layout at every call. For the small row counts
of batched inference (8 rows per decoding step, a few hundred in a prompt) that costs more than the arithmetic:
on a 2-core AVX-512 EPYC, one thread, a 768 -> 3072 layer takes 1.73 ms for 8 rows through ``Conv1D``'s
``addmm`` and 0.49 ms from weights reordered once into oneDNN's blocked layout, 28.9 ms against 22.2 ms for 480
rows (``scripts/bench/fast_inference.py``, BENCHMARKS.md fewshot_lmeval). ``torch.compile``'s freezing pass does
the same reordering, but it compiles per input shape, and every few-shot batch has another one;
``torch.utils.mkldnn.to_mkldnn`` converts only ``nn.Linear``. So the two private ops inductor itself calls are
used here, behind checks that fall back to the model as it is:
oneDNN present, fp32 weights on the CPU, no autocast, no gradients, memory for the packed copies, and the
first packed layer of each kind giving the layer's own output.

The tanh approximation of GELU (GPT-2's ``gelu_new``) is written in transformers as six elementwise tensor
operations; ``F.gelu(x, approximate="tanh")`` computes the same formula in one pass (transformers' own
``gelu_pytorch_tanh``), equal to fp32 rounding. It needs neither oneDNN nor packing: fp32 weights on the CPU
without autocast are enough, so the GELUs are fused also where packing does not pay (decoding steps of a few
rows on some CPUs: in generation on a 12-layer GPT-2 their six passes were 3-4% of the time).
"""

from __future__ import annotations

import contextlib
import math
import time
import weakref

import torch
from torch import nn

from hf_replearn.utils.machine_cache import remembered
from hf_replearn.utils.timing import best_seconds_interleaved

_BATCH_HINT = 8  # rows oneDNN picks its blocking for (a decoding step at batch 8); other row counts use it as well


def _linear_weight(module: nn.Module) -> torch.Tensor | None:
    """The module's weight as (out_features, in_features), or None for a module that is not a plain linear layer."""
    if type(module) is nn.Linear:
        return module.weight
    if type(module).__name__ == "Conv1D" and type(module).__module__.startswith("transformers."):
        return module.weight.t()  # GPT-2's Conv1D keeps (in_features, out_features) and computes x @ W + b
    return None


_TANH_GELUS = ("NewGELUActivation", "FastGELUActivation")  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))


def _tanh_gelu(module: nn.Module) -> bool:
    return type(module).__name__ in _TANH_GELUS and type(module).__module__ == "transformers.activations"


def _fused_gelu(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.gelu(x, approximate="tanh")


def _available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and all(
            hasattr(torch.ops.mkldnn, op) for op in ("_reorder_linear_weight", "_linear_pointwise")
        )
    except (AttributeError, RuntimeError):
        return False


def _enough_memory(nbytes: int) -> bool:
    """The packed copies take at most a quarter of the memory that is free."""
    try:
        import psutil
    except ImportError:
        return False
    return nbytes <= psutil.virtual_memory().available // 4


def _inference_forward(module: nn.Module, fast, up_to_rows: float = math.inf):
    """``module``'s forward through ``fast`` for fp32 inputs of at most ``up_to_rows`` rows without gradients or
    autocast, its own otherwise."""
    original = module.forward

    def forward(x: torch.Tensor) -> torch.Tensor:
        if (torch.is_grad_enabled() or x.dtype != torch.float32 or torch.is_autocast_enabled(x.device.type)
                or x.numel() > up_to_rows * x.shape[-1]):  # fmt: skip
            return original(x)
        return fast(x)

    return forward


def _packed_linear(weight: torch.Tensor, bias: torch.Tensor | None):
    return lambda x: torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


@contextlib.contextmanager
def fast_inference(model: nn.Module, enabled: bool = True, workload=None):
    """Within the block, ``model``'s linear layers compute from packed copies of their weights (where that pays)
    and its tanh-GELUs in one pass (CPU, fp32, inference).

    On exit every layer is as it was. A model that does not qualify (see the module docstring), or
    ``enabled=False``, runs unchanged.
    The copies are made on entry, so weights trained between two blocks are read afresh.

    ``workload``: ``(rows, calls)`` pairs, the forward passes the block will run (rows per linear-layer call, how
    many such passes), or a function returning them, called only when the choice is to be made. Packing costs a
    reorder of every weight, and how much a packed call saves depends on its rows and the CPU (on some it loses at
    a few rows, on others at a few hundred): with a workload the packed weights serve the calls of up to the rows
    :func:`_packed_rows` chooses, or none (the GELUs are fused either way).

    A block nested in another block of the same model keeps the outer block's choice, packed or not: a caller
    that knows the whole workload (every task, k and seed of a suite) decides once for all of it.
    """
    if model in _BLOCKS:
        yield model
        return
    layers = [(m, w) for m in model.modules() if (w := _linear_weight(m)) is not None and "forward" not in vars(m)]
    cpu_fp32 = (
        enabled
        and layers
        and not torch.is_autocast_enabled("cpu")
        and all(w.device.type == "cpu" and w.dtype == torch.float32 for _, w in layers)
    )
    up_to_rows = None  # packed weights serve calls of at most this many rows; None: not packed
    if cpu_fp32 and _available() and _enough_memory(sum(w.numel() * w.element_size() for _, w in layers)):
        up_to_rows = math.inf if workload is None else _packed_rows(layers, workload() if callable(workload) else workload)
    pack = up_to_rows is not None
    patched: list[nn.Module] = []
    _BLOCKS.add(model)
    try:
        if pack:
            with torch.no_grad():
                for module, weight in layers:
                    # oneDNN reads Conv1D's transposed view through its strides: no contiguous copy first
                    packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), _BATCH_HINT)
                    bias = None if module.bias is None else module.bias.detach()
                    module.forward = _inference_forward(module, _packed_linear(packed, bias), up_to_rows)
                    patched.append(module)
                first_of_each_kind = {type(m): (m, w.shape[1]) for m, w in reversed(layers)}.values()
                if not all(_agrees(module, in_features) for module, in_features in first_of_each_kind):
                    _restore(patched)
        if cpu_fp32:  # the one-pass GELU saves its five extra passes whether or not the weights are packed
            for module in model.modules():
                if _tanh_gelu(module) and "forward" not in vars(module):
                    module.forward = _inference_forward(module, _fused_gelu)
                    patched.append(module)
        yield model
    finally:
        _BLOCKS.discard(model)
        _restore(patched)


_BLOCKS: weakref.WeakSet = weakref.WeakSet()
"""The models inside a ``fast_inference`` block now."""


_KIND = "fast_inference"  # the machine cache's file for the layer timings

_CALIBRATION_ROWS = 2048  # the largest row count timed; larger calls are taken to save in proportion to their rows


def _packed_rows(layers: list[tuple[nn.Module, torch.Tensor]], workload: list[tuple[int, int]]) -> float | None:
    """Up to how many rows a call is served by the packed weights (``math.inf``: every call), or None where packing
    does not save more over ``workload`` than the reorder costs. Judged on the largest layer (the others taken to
    save and cost in proportion to their size): its reorder, and its own forward against the packed one at the
    power of two at or above each workload's rows, timed once per machine; the bound is the one of those row
    counts (or none) that saves the most. Decoding steps of a few rows may gain from packing where a prompt's
    hundreds of rows lose, or the reverse."""
    module, weight = max(layers, key=lambda mw: mw[1].numel())
    reorder, per_call = _layer_timings(module, weight, {_calibration_rows(r) for r, _ in workload})
    bounds = [math.inf] + sorted(per_call)
    best = max(bounds, key=lambda up_to: saved_seconds(per_call, workload, up_to))
    return best if saved_seconds(per_call, workload, best) > reorder else None


def _calibration_rows(rows: int) -> int:
    """The row count a call of ``rows`` is judged by: the power of two at or above it, at most ``_CALIBRATION_ROWS``
    (a few timings per machine serve every prompt length)."""
    return min(1 << max(rows - 1, 0).bit_length(), _CALIBRATION_ROWS)


def saved_seconds(per_call: dict[int, tuple[float, float]], workload: list[tuple[int, int]],
                  up_to_rows: float = math.inf) -> float:
    """What packing saves over the passes of ``workload`` with at most ``up_to_rows`` rows, given ``per_call``:
    rows -> (own seconds, packed seconds) per call at the calibration's row counts, each call's saving taken in
    proportion to its rows; negative where the packed layer is the slower."""
    def saving(rows: int) -> float:
        timed = _calibration_rows(rows)
        own, packed = per_call[timed]
        return (own - packed) * rows / timed

    return sum(saving(r) * calls for r, calls in workload if r <= up_to_rows)


def _layer_timings(module: nn.Module, weight: torch.Tensor, rows: set[int]) -> tuple[float, dict]:
    """(seconds to reorder ``weight``, rows -> (seconds of the layer's own forward, of the packed one)), timed once
    per machine and kept for its later runs (``utils/machine_cache.py``: the packed layer rounds differently, so
    a decision that changed with the load would change a run's numbers in their last digits)."""
    bias = None if module.bias is None else module.bias.detach()
    layer = f"{type(module).__name__} {tuple(weight.shape)}{'' if bias is None else ' with bias'}"
    packed = []

    def reorder() -> float:
        start = time.perf_counter()
        packed.append(torch.ops.mkldnn._reorder_linear_weight(weight.detach(), _BATCH_HINT))
        return time.perf_counter() - start

    def per_call(n: int) -> list[float]:
        x = torch.randn(n, weight.shape[1], generator=torch.Generator().manual_seed(0))
        if not packed:  # the reorder's timing came from the file: pack once for every row count timed here
            packed.append(torch.ops.mkldnn._reorder_linear_weight(weight.detach(), _BATCH_HINT))
        w = packed[0]
        return list(best_seconds_interleaved(lambda: type(module).forward(module, x),
                                             lambda: torch.ops.mkldnn._linear_pointwise(x, w, bias, "none", [], ""),
                                             repeats=2))  # fmt: skip

    def seconds(v) -> bool:
        return isinstance(v, float) and v >= 0

    with torch.no_grad():
        reorder_s = remembered(_KIND, f"reorder {layer}", reorder, valid=seconds)
        calls = {n: tuple(remembered(_KIND, f"{layer} at {n} rows", lambda: per_call(n),
                                     valid=lambda v: isinstance(v, list) and len(v) == 2 and all(map(seconds, v))))
                 for n in sorted(rows)}  # fmt: skip
    return reorder_s, calls


def _agrees(module: nn.Module, in_features: int) -> bool:
    """The packed layer's output equals the layer's own on a random one-row input (every bound serves it), to fp32
    rounding."""
    x = torch.randn(1, in_features, generator=torch.Generator().manual_seed(0))
    packed = module.forward(x)
    own = type(module).forward(module, x)
    return packed.shape == own.shape and torch.allclose(packed, own, rtol=1e-4, atol=1e-5)


def _restore(modules: list[nn.Module]) -> None:
    while modules:
        del modules.pop().forward  # the instance attribute goes; the class's forward is found again
