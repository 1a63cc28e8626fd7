"""training/conv_weight_grad.py: convolution weight gradients as one GEMM per kernel offset."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from datasets import Dataset
from torch import nn
from transformers import TrainingArguments

from hf_replearn.models.simclr.configuration_simclr import SimCLRConfig
from hf_replearn.models.simclr.modeling_simclr import SimCLRModel
from hf_replearn.training import conv_weight_grad
from hf_replearn.training.conv_weight_grad import conv2d, use_shifted_weight_grads, weight_grad_by_shifts
from hf_replearn.training.trainer import ImageCollator, ReplearnTrainer
from hf_replearn.utils import machine_cache

LAYERS = [  # in, out, kernel, stride, padding, side, bias, channels-last
    (3, 8, 3, 1, 1, 9, False, False),
    (8, 16, 3, 2, 1, 8, True, True),
    (8, 4, 1, 2, 0, 7, False, True),
    (4, 6, (3, 5), (2, 1), (1, 2), 10, True, False),
    (5, 5, 3, 1, 0, 6, False, True),
    (2, 3, 3, 3, 1, 11, True, False),  # stride 3: the last window does not reach the padded edge
]


def _grads(conv, x, forward):
    for t in (x, conv.weight, conv.bias):
        if t is not None:
            t.grad = None
    out = forward(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return out.detach(), [t.grad.clone() for t in (x, conv.weight, conv.bias) if t is not None]


@pytest.mark.parametrize("force", [True, False])
@pytest.mark.parametrize("layer", LAYERS)
def test_gradients_equal_autograd_of_conv2d_in_float64(layer, force):
    c_in, c_out, k, s, p, side, bias, channels_last = layer
    torch.manual_seed(0)
    conv = nn.Conv2d(c_in, c_out, k, s, p, bias=bias).double()
    x = torch.randn(3, c_in, side, side, dtype=torch.float64)
    if channels_last:
        conv, x = conv.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    ref_out, ref = _grads(conv, x, conv)
    out, got = _grads(conv, x, lambda t: conv2d(conv, t, force=force))
    assert torch.equal(out, ref_out)
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_weight_grad_by_shifts_against_a_loop_over_positions():
    torch.manual_seed(1)
    x, g = torch.randn(2, 3, 5, 5, dtype=torch.float64), torch.randn(2, 4, 3, 3, dtype=torch.float64)
    got = weight_grad_by_shifts(g, x, (4, 3, 3, 3), (2, 2), (1, 1))
    x_pad = torch.nn.functional.pad(x, (1, 1, 1, 1))
    want = torch.zeros(4, 3, 3, 3, dtype=torch.float64)
    for n in range(2):
        for u in range(3):
            for v in range(3):  # dW[o, c, i, j] += dy[n, o, u, v] * x_pad[n, c, 2u + i, 2v + j]
                want += g[n, :, u, v][:, None, None, None] * x_pad[n, :, 2 * u : 2 * u + 3, 2 * v : 2 * v + 3]
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_under_bf16_autocast_it_matches_the_plain_layer_to_bf16_rounding():
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3, 1, 1, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(8, 16, 4, 4).contiguous(memory_format=torch.channels_last).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref_out, ref = _grads(conv, x, conv)
        out, got = _grads(conv, x, lambda t: conv2d(conv, t, force=True))
    assert out.dtype == ref_out.dtype == torch.bfloat16 and torch.equal(out, ref_out)
    assert got[1].dtype == torch.float32  # the fp32 weight's gradient, through autocast's cast
    torch.testing.assert_close(got[0], ref[0], rtol=0, atol=0)  # the input gradient is oneDNN's own
    torch.testing.assert_close(got[1], ref[1], rtol=2e-2, atol=2e-2 * ref[1].abs().max().item())


def _fake_timings(monkeypatch, seconds: tuple[float, float]) -> list:
    """best_seconds_interleaved replaced: calls both ways once and reports ``seconds`` (oneDNN's, the GEMMs')."""
    timed = []

    def fake(first, second, repeats):
        timed.append((first(), second()))
        return seconds

    monkeypatch.setattr(conv_weight_grad, "best_seconds_interleaved", fake)
    monkeypatch.setattr(conv_weight_grad, "_FASTER_BY_SHIFTS", {})
    return timed


def test_the_faster_way_is_timed_once_per_shape_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    timed = _fake_timings(monkeypatch, (1.0, 2.0))  # oneDNN's kernel the faster
    calls = []
    real = conv_weight_grad.weight_grad_by_shifts
    monkeypatch.setattr(conv_weight_grad, "weight_grad_by_shifts", lambda *a: calls.append(1) or real(*a))
    conv = nn.Conv2d(2, 3, 3, padding=1)
    for _ in range(3):
        conv2d(conv, torch.randn(2, 2, 5, 5)).sum().backward()
    assert len(timed) == 1 and list(conv_weight_grad._FASTER_BY_SHIFTS.values()) == [False]
    assert len(calls) == 1  # only while timing: oneDNN's kernel won and computed every gradient
    conv2d(conv, torch.randn(4, 2, 5, 5)).sum().backward()  # another batch size is another shape
    assert len(timed) == 2 and len(conv_weight_grad._FASTER_BY_SHIFTS) == 2


@pytest.mark.parametrize("seconds, shifts", [((2.0, 1.0), True), ((1.1, 1.0), False), ((1.0, 2.0), False)])
def test_the_gemms_are_chosen_only_when_faster_by_the_margin(monkeypatch, tmp_path, seconds, shifts):
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    _fake_timings(monkeypatch, seconds)
    conv2d(nn.Conv2d(2, 3, 3), torch.randn(2, 2, 5, 5)).sum().backward()
    assert list(conv_weight_grad._FASTER_BY_SHIFTS.values()) == [shifts]


def test_a_machines_choices_are_kept_for_its_later_runs(monkeypatch, tmp_path):
    """A second process (the in-memory choices emptied) reads the choice from the file and times nothing, even
    when a timing now would choose the other way; another thread count is another machine, timed anew."""
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    conv, x = nn.Conv2d(2, 3, 3), torch.randn(2, 2, 5, 5)
    _fake_timings(monkeypatch, (2.0, 1.0))
    conv2d(conv, x).sum().backward()
    saved = json.loads(machine_cache.choices_file("conv_weight_grad").read_text())
    assert machine_cache.choices_file("conv_weight_grad").parent == tmp_path / "conv_weight_grad"
    assert [list(layers.values()) for layers in saved.values()] == [[True]]
    assert list(saved) == [machine_cache.machine()] and "thread(s)" in machine_cache.machine()

    timed = _fake_timings(monkeypatch, (1.0, 2.0))
    conv2d(conv, x).sum().backward()
    assert timed == [] and list(conv_weight_grad._FASTER_BY_SHIFTS.values()) == [True]

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        conv2d(conv, x).sum().backward()
    finally:
        torch.set_num_threads(threads)
    assert len(timed) == 1 and len(json.loads(machine_cache.choices_file("conv_weight_grad").read_text())) == 2


def test_an_unreadable_or_unwritable_choices_file_only_costs_a_timing(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    machine_cache.choices_file("conv_weight_grad").parent.mkdir(parents=True)
    machine_cache.choices_file("conv_weight_grad").write_text("not json")
    timed = _fake_timings(monkeypatch, (2.0, 1.0))
    conv2d(nn.Conv2d(2, 3, 3), torch.randn(2, 2, 5, 5)).sum().backward()
    assert len(timed) == 1 and list(json.loads(machine_cache.choices_file("conv_weight_grad").read_text()).values())[0]

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(blocked))  # its conv_weight_grad folder cannot be made
    timed = _fake_timings(monkeypatch, (2.0, 1.0))
    conv2d(nn.Conv2d(2, 3, 3), torch.randn(2, 2, 5, 5)).sum().backward()
    assert len(timed) == 1 and list(conv_weight_grad._FASTER_BY_SHIFTS.values()) == [True]


def test_use_shifted_weight_grads_routes_only_plain_conv2d_and_changes_no_output():
    convs = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1, groups=2), nn.Conv2d(4, 4, 3, dilation=2),
        nn.Conv2d(4, 4, 3, padding="same"), nn.Conv2d(4, 4, 1, padding_mode="zeros"),
    )  # fmt: skip
    model = nn.ModuleDict({"convs": convs, "conv1d": nn.Conv1d(4, 4, 1)})
    x = torch.randn(2, 3, 12, 12)
    before = convs(x)
    assert use_shifted_weight_grads(model) == 2 and use_shifted_weight_grads(model) == 0
    assert [("forward" in vars(m)) for m in convs] == [True, False, False, False, True]
    assert "forward" not in vars(model["conv1d"])
    assert torch.equal(convs(x), before)
    with torch.no_grad():
        assert torch.equal(convs(x), before)
    twin = copy.deepcopy(convs)  # a copy's forward is bound to the copy, not to the original's weights
    with torch.no_grad():
        twin[0].weight.zero_()
    assert not torch.equal(twin(x), before) and torch.equal(convs(x), before)


def test_a_simclr_model_trains_the_same_and_saves_plain(tmp_path):
    config = SimCLRConfig(widths=[8, 16], blocks_per_stage=1, projection_dim=8, num_channels=1, image_size=12)
    torch.manual_seed(0)
    plain = SimCLRModel(config).double()
    routed = copy.deepcopy(plain)
    assert use_shifted_weight_grads(routed) == sum(isinstance(m, nn.Conv2d) for m in plain.modules()) > 0
    x, x2 = torch.rand(4, 1, 12, 12, dtype=torch.float64), torch.rand(4, 1, 12, 12, dtype=torch.float64)
    for model in (plain, routed):
        model(pixel_values=x, pixel_values_2=x2).loss.backward()
    for (name, a), b in zip(plain.named_parameters(), routed.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-10, atol=1e-12, msg=name)
    routed.save_pretrained(tmp_path)
    loaded = SimCLRModel.from_pretrained(tmp_path)
    assert not any("forward" in vars(m) for m in loaded.modules())


def test_replearn_trainer_routes_the_model_on_the_cpu(tmp_path):
    config = SimCLRConfig(widths=[4], blocks_per_stage=1, projection_dim=4, num_channels=1, image_size=8,
                          num_labels=2)  # fmt: skip
    model = SimCLRModel(config)
    data = Dataset.from_dict({"pixel_values": [[[[0] * 8] * 8]] * 4, "label": [0, 1, 0, 1]})
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", max_steps=1)
    ReplearnTrainer(model=model, args=args, train_dataset=data, data_collator=ImageCollator())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all("forward" in vars(m) for m in convs)
