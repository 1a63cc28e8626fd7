"""Convolution weight gradients as one matrix product per kernel offset, where that is faster on the CPU.

For a convolution y = conv(x, W) with stride s, zero padding p and no dilation, the weight gradient is

    dL/dW[o, c, i, j] = sum_{n, u, v} dL/dy[n, o, u, v] * x_pad[n, c, s*u + i, s*v + j]

that is, for each kernel offset (i, j), the product of dL/dy as an (O, N*Ho*Wo) matrix with the strided view of
the padded input at that offset as an (N*Ho*Wo, C) matrix: K*K plain GEMMs. Hand-written because oneDNN's
backward-weights kernel (what ``torch.nn.Conv2d`` calls on the CPU) is slow on small feature maps: on a CPU with
AMX, bf16, 256 images of 2x2 and 4x4 maps, it ran 4-8x slower than these GEMMs, the largest share of a SimCLR
step of the small ResNet (BENCHMARKS.md conv_weight_grad). On large maps oneDNN's kernel is faster. So each
layer shape is timed both ways the first time it runs backward on this machine, and the GEMMs are kept where they
win by :data:`SHIFTS_MARGIN`, a choice made once per machine and kept for its later runs (``utils/machine_cache.py``:
the two ways round differently, and a choice that changed with the load would make two runs of one seed differ).

Only the weight (and bias) gradient changes; the forward pass and the input gradient stay oneDNN's.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import nn

from hf_replearn.utils.machine_cache import machine, remembered
from hf_replearn.utils.timing import best_seconds_interleaved

SHIFTS_MARGIN = 1.2
"""The GEMMs replace oneDNN's kernel for a layer only when timed at least this much faster: near a tie the winner
changes from one timing to the next (on an idle 2-core AMD EPYC a layer timed at 0.88x was kept as the faster)."""

# (machine(), a layer's description) -> True when the shifted GEMMs won, as read from or added to the choices file
_FASTER_BY_SHIFTS: dict[tuple[str, str], bool] = {}


def weight_grad_by_shifts(grad_out: torch.Tensor, x: torch.Tensor, weight_shape, stride, padding) -> torch.Tensor:
    """dL/dW of ``conv2d(x, W, stride=stride, padding=padding)`` from dL/dy, as K*K GEMMs (module docstring)."""
    out_channels, in_channels, kh, kw = weight_shape
    (sh, sw), (ph, pw) = stride, padding
    ho, wo = grad_out.shape[-2:]
    x_pad = F.pad(x, (pw, pw, ph, ph)).permute(0, 2, 3, 1)  # N, H, W, C: a view for channels-last inputs
    g = grad_out.permute(1, 0, 2, 3).reshape(out_channels, -1)  # O, N*Ho*Wo
    grad = torch.empty(out_channels, kh, kw, in_channels, dtype=grad_out.dtype, device=grad_out.device)
    for i in range(kh):
        for j in range(kw):
            window = x_pad[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw, :]
            torch.mm(g, window.reshape(-1, in_channels), out=grad[:, i, j, :])
    return grad.permute(0, 3, 1, 2)


def _onednn_grads(grad_out, x, weight, stride, padding, mask):
    return torch.ops.aten.convolution_backward(
        grad_out, x, weight, [weight.shape[0]] if mask[2] else None, list(stride), list(padding), [1, 1], False,
        [0, 0], 1, list(mask),
    )  # fmt: skip


def _use_shifts(grad_out, x, weight, stride, padding) -> bool:
    layer = (f"input {tuple(x.shape)} strides {x.stride()} {x.dtype}, weight {tuple(weight.shape)}, stride {tuple(stride)}, "
             f"padding {tuple(padding)}")  # fmt: skip

    def shifts_win() -> bool:
        onednn, shifts = best_seconds_interleaved(
            lambda: _onednn_grads(grad_out, x, weight, stride, padding, (False, True, False)),
            lambda: weight_grad_by_shifts(grad_out, x, weight.shape, stride, padding), repeats=5)  # fmt: skip
        return onednn >= SHIFTS_MARGIN * shifts

    key = machine(), layer
    if key not in _FASTER_BY_SHIFTS:
        _FASTER_BY_SHIFTS[key] = remembered("conv_weight_grad", layer, shifts_win, valid=lambda v: isinstance(v, bool))
    return _FASTER_BY_SHIFTS[key]


class _Conv2dShiftedWeightGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, force):
        ctx.save_for_backward(x, weight)
        ctx.conv = stride, padding, bias is not None, force
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, has_bias, force = ctx.conv
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        shifts = needs_w and (force if force is not None else _use_shifts(grad_out, x, weight, stride, padding))
        grad_x, grad_w, grad_b = _onednn_grads(
            grad_out, x, weight, stride, padding, (needs_x, needs_w and not shifts, has_bias and needs_b)
        )
        if shifts:
            grad_w = weight_grad_by_shifts(grad_out, x, weight.shape, stride, padding)
        return grad_x, grad_w, grad_b, None, None, None


def conv2d(conv: nn.Conv2d, x: torch.Tensor, force: bool | None = None) -> torch.Tensor:
    """``conv(x)`` with the weight gradient from :func:`weight_grad_by_shifts` where this machine chose it
    (``force``: True / False to choose, for tests). Under CPU autocast the inputs are cast as autocast casts
    ``conv2d``'s; without gradients this is ``conv(x)``."""
    if not torch.is_grad_enabled() or not (x.requires_grad or conv.weight.requires_grad):
        return conv._conv_forward(x, conv.weight, conv.bias)
    weight, bias = conv.weight, conv.bias
    if torch.is_autocast_enabled("cpu"):
        dtype = torch.get_autocast_dtype("cpu")
        with torch.autocast("cpu", enabled=False):
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
            return _Conv2dShiftedWeightGrad.apply(x, weight, bias, conv.stride, conv.padding, force)
    return _Conv2dShiftedWeightGrad.apply(x, weight, bias, conv.stride, conv.padding, force)


def _eligible(module: nn.Module) -> bool:
    return (
        type(module) is nn.Conv2d and module.groups == 1 and module.dilation == (1, 1)
        and module.padding_mode == "zeros" and not isinstance(module.padding, str)
    )  # fmt: skip


def use_shifted_weight_grads(model: nn.Module) -> int:
    """Routes every plain ``nn.Conv2d`` of ``model`` (no groups, dilation or non-zero padding mode) through
    :func:`conv2d`; returns how many. Weights, outputs and saved files are unchanged; the forward is an instance
    attribute, so other models of the class are untouched."""
    convs = [m for m in model.modules() if _eligible(m) and "forward" not in vars(m)]
    for module in convs:
        module.forward = types.MethodType(conv2d, module)
    return len(convs)
