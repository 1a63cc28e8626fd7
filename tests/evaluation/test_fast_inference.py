"""fast_inference: packed linear layers and a fused tanh-GELU give the model's own outputs, and leave no trace."""

import json
import math

import pytest
import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

from hf_replearn.evaluation import fast_inference as F
from hf_replearn.evaluation.fast_inference import fast_inference
from tests.evaluation.packed_calls import count_packed_calls


def gpt2(**overrides):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=97, n_positions=64, n_embd=64, n_layer=2, n_head=2, **overrides)
    return GPT2LMHeadModel(config).eval()


def patched(model) -> list[str]:
    return [name for name, m in model.named_modules() if "forward" in vars(m)]


IDS = torch.randint(97, (3, 11), generator=torch.Generator().manual_seed(1))


def test_gpt2_logits_equal_inside_and_every_layer_restored_after():
    model = gpt2()
    with torch.inference_mode():
        before = model(IDS).logits
        with fast_inference(model):
            names = patched(model)
            inside = model(IDS).logits
        after = model(IDS).logits
    # every Conv1D (4 per block), the LM head and each block's gelu_new ran the fast way
    assert len([n for n in names if n.endswith(("c_attn", "c_proj", "c_fc"))]) == 2 * 4
    assert "lm_head" in names and sum(n.endswith("mlp.act") for n in names) == 2
    torch.testing.assert_close(inside, before, rtol=1e-5, atol=1e-5)
    assert patched(model) == [] and torch.equal(after, before)


def test_the_packed_path_is_the_one_that_runs(monkeypatch):
    calls = count_packed_calls(monkeypatch)
    model = gpt2()
    with fast_inference(model), torch.inference_mode():
        calls.clear()  # the check of the first packed layer
        model(IDS)
    assert len(calls) == 2 * 4 + 1  # the Conv1Ds of two blocks and the LM head


def test_weights_changed_between_two_blocks_are_read_afresh():
    model = gpt2()
    with torch.inference_mode():
        with fast_inference(model):
            first = model(IDS).logits
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01 * torch.randn_like(p))
        with fast_inference(model):
            second = model(IDS).logits
        own = model(IDS).logits
    assert (second - first).abs().max() > 1e-3
    torch.testing.assert_close(second, own, rtol=1e-5, atol=1e-5)


def test_gradients_inside_the_block_are_the_models_own():
    model = gpt2()

    def grads():
        model.zero_grad()
        model(IDS, labels=IDS).loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    own = grads()
    with fast_inference(model):
        inside = grads()
    for a, b in zip(own, inside):
        assert torch.equal(a, b)


def test_nested_blocks_leave_the_outer_packing_in_place():
    model = gpt2()
    with fast_inference(model):
        outer = patched(model)
        with fast_inference(model):
            assert patched(model) == outer
        assert patched(model) == outer
    assert patched(model) == []


def linears(names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith("mlp.act")]


def test_a_nested_block_keeps_the_outer_blocks_choice_not_to_pack(monkeypatch):
    monkeypatch.setattr(F, "_packed_rows", lambda layers, workload: None)
    model = gpt2()
    with fast_inference(model, workload=[(8, 1)]):
        with fast_inference(model):  # alone this block would pack
            assert linears(patched(model)) == []
        assert linears(patched(model)) == []
    with fast_inference(model):  # the outer block has ended: a new one decides for itself
        assert linears(patched(model))


def test_without_packing_the_gelus_are_still_fused(monkeypatch):
    calls = count_packed_calls(monkeypatch)
    monkeypatch.setattr(F, "_packed_rows", lambda layers, workload: None)
    model = gpt2()
    with torch.inference_mode():
        before = model(IDS).logits
        with fast_inference(model, workload=[(8, 1)]):
            names = patched(model)
            inside = model(IDS).logits
    assert names == ["transformer.h.0.mlp.act", "transformer.h.1.mlp.act"] and calls == []
    torch.testing.assert_close(inside, before, rtol=1e-5, atol=1e-5)
    assert patched(model) == []


def test_a_workload_function_is_called_only_when_the_block_decides(monkeypatch):
    monkeypatch.setattr(F, "_packed_rows", lambda layers, workload: math.inf if workload == [(8, 1)] else None)
    asked = []
    model = gpt2()
    with fast_inference(model, workload=lambda: asked.append("outer") or [(8, 1)]):
        with fast_inference(model, workload=lambda: asked.append("inner") or [(8, 1)]):
            assert patched(model)
    with fast_inference(model, enabled=False, workload=lambda: asked.append("disabled") or [(8, 1)]):
        assert patched(model) == []
    assert asked == ["outer"]


def test_bert_linears_without_bias_too():
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=64)).eval()  # fmt: skip
    model.encoder.layer[0].attention.self.query.bias = None
    with torch.inference_mode():
        own = model(IDS).last_hidden_state
        with fast_inference(model):
            assert "encoder.layer.0.attention.self.query" in patched(model)
            inside = model(IDS).last_hidden_state
    torch.testing.assert_close(inside, own, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "case",
    ["bf16 weights", "autocast", "no memory", "disagrees", "no onednn"],
)
def test_a_model_that_does_not_qualify_is_not_packed(case, monkeypatch):
    model = gpt2()
    if case == "bf16 weights":
        model = model.to(torch.bfloat16)
    if case == "no memory":
        monkeypatch.setattr(F, "_enough_memory", lambda nbytes: False)
    if case == "disagrees":
        monkeypatch.setattr(F, "_agrees", lambda module, n: False)
    if case == "no onednn":
        monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    with torch.inference_mode():
        own = model(IDS).logits
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=case == "autocast"):
            with fast_inference(model):
                # fp32 weights without autocast still get the one-pass GELU; bf16 ones or autocast get nothing
                assert linears(patched(model)) == [] and (case in ("bf16 weights", "autocast")) is (patched(model) == [])
        with fast_inference(model):
            inside = model(IDS).logits
    if case == "bf16 weights":
        assert torch.equal(inside, own)
    if case in ("no memory", "disagrees", "no onednn"):  # plain linear layers; the fused GELU equal to fp32 rounding
        torch.testing.assert_close(inside, own, rtol=1e-5, atol=1e-5)


def test_memory_guard_counts_the_packed_bytes(monkeypatch):
    seen = []
    monkeypatch.setattr(F, "_enough_memory", lambda nbytes: seen.append(nbytes) or True)
    model = gpt2()
    with fast_inference(model):
        pass
    linear = sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2
                 and "wte" not in n and "wpe" not in n)  # fmt: skip
    assert seen == [(linear + model.lm_head.weight.numel()) * 4]


def test_saved_seconds_weighs_each_row_count_by_its_calls():
    per_call = {8: (0.40e-3, 0.45e-3), 512: (28.8e-3, 22.2e-3)}  # a CPU where packing loses at 8 rows
    assert F.saved_seconds(per_call, [(512, 10)]) == pytest.approx(10 * 6.6e-3)
    # 480 rows are judged by the 512-row timing, in proportion to their rows
    assert F.saved_seconds(per_call, [(480, 10)]) == pytest.approx(10 * 6.6e-3 * 480 / 512)
    assert F.saved_seconds(per_call, [(480, 10), (8, 30)]) == pytest.approx(10 * 6.6e-3 * 480 / 512 - 30 * 0.05e-3)
    assert F.saved_seconds(per_call, [(8, 30)]) < 0
    assert F.saved_seconds(per_call, [(480, 10), (8, 30)], up_to_rows=8) == pytest.approx(-30 * 0.05e-3)


def test_calls_are_judged_by_the_power_of_two_at_or_above_their_rows():
    assert [F._calibration_rows(r) for r in (1, 3, 8, 9, 50, 64, 65, 466, 2048, 5000)] == \
        [1, 4, 8, 16, 64, 64, 128, 512, 2048, 2048]  # fmt: skip
    assert F.saved_seconds({2048: (2.0, 1.0)}, [(4096, 1)]) == pytest.approx(2.0)  # beyond the largest: in proportion


@pytest.mark.parametrize("saves", [True, False])
def test_a_workload_packs_only_when_the_saving_beats_the_reorder(saves, monkeypatch):
    timed = []

    def layer_timings(module, weight, rows):
        timed.append((tuple(weight.shape), rows))
        return 1.0, {n: (0.5, 0.0 if saves else 0.5) for n in rows}  # packing saves 0.5 s per call, or nothing

    monkeypatch.setattr(F, "_layer_timings", layer_timings)
    model = gpt2()
    with fast_inference(model, workload=[(512, 2), (4, 1)]):  # saves 1.5 s against a 1 s reorder, or nothing
        assert bool(linears(patched(model))) is saves
    assert timed == [((256, 64), {512, 4})]  # the largest layer (c_fc, 64 -> 256)
    with fast_inference(model):  # without a workload: packed, as before
        assert patched(model)


def test_packed_weights_serve_only_the_row_counts_where_they_save(monkeypatch):
    """Timings where a packed call saves 1 s at up to 8 rows and loses 0.5 s above: decoding steps of 8 rows run
    packed, the prompt's 30-row pass runs the layer's own forward, and both give the model's own logits."""
    from tests.evaluation.packed_calls import count_packed_calls

    def layer_timings(module, weight, rows):
        return 1.0, {n: (2.0, 1.0) if n <= 8 else (1.0, 1.5) for n in rows}

    monkeypatch.setattr(F, "_layer_timings", layer_timings)
    workload = [(30, 2), (8, 5)]
    model = gpt2()
    layers = [(m, w) for m in model.modules() if (w := F._linear_weight(m)) is not None]
    assert F._packed_rows(layers, workload) == 8  # all rows: 5 x 1.0 - 2 x 0.5 = 4 s; up to 8 rows: 5 s
    assert F._packed_rows(layers, [(30, 20), (8, 5)]) == 8
    assert F._packed_rows(layers, [(30, 2)]) is None  # nothing to gain: not packed
    assert F._packed_rows(layers, [(8, 1)]) is None  # 1 s saved against a 1 s reorder
    with torch.no_grad():
        prompt_ids, step_ids = IDS[:, :10], IDS[:, :8].reshape(3, 8)[:1]  # 30 rows (3 x 10), then 8 rows (1 x 8)
        own = model(prompt_ids).logits, model(step_ids).logits
        calls = count_packed_calls(monkeypatch)
        with fast_inference(model, workload=workload):
            calls.clear()  # the check on entry that a packed layer of each kind gives its own output
            prompt = model(prompt_ids).logits
            assert calls == []
            step = model(step_ids).logits
            assert len(calls) == len(layers)
    torch.testing.assert_close(prompt, own[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(step, own[1], rtol=1e-4, atol=1e-5)


def test_layer_timings_are_measured():
    model = gpt2()
    fc = model.transformer.h[0].mlp.c_fc
    reorder, per_call = F._layer_timings(fc, fc.weight.t(), {1, 64})
    assert reorder > 0 and set(per_call) == {1, 64} and all(own > 0 and fast > 0 for own, fast in per_call.values())


def test_layer_timings_are_kept_for_the_machines_later_runs(monkeypatch, tmp_path):
    """A second timing of the same layer reads the first from the machine's file, so a packing decision does
    not change with the load from one run to the next; another layer shape is timed."""
    from hf_replearn.utils import machine_cache

    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path))
    model = gpt2()
    fc, proj = model.transformer.h[0].mlp.c_fc, model.transformer.h[0].mlp.c_proj
    first = F._layer_timings(fc, fc.weight.t(), {1, 64})
    calls = []
    real = F.best_seconds_interleaved
    monkeypatch.setattr(F, "best_seconds_interleaved", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert F._layer_timings(fc, fc.weight.t(), {1, 64}) == first and calls == []
    F._layer_timings(fc, fc.weight.t(), {1, 8})  # a row count not timed yet: that one only
    F._layer_timings(proj, proj.weight.t(), {1})
    assert len(calls) == 2
    kept = json.loads(machine_cache.choices_file("fast_inference").read_text())[machine_cache.machine()]
    assert sorted(kept) == ["Conv1D (256, 64) with bias at 1 rows", "Conv1D (256, 64) with bias at 64 rows",
                            "Conv1D (256, 64) with bias at 8 rows", "Conv1D (64, 256) with bias at 1 rows",
                            "reorder Conv1D (256, 64) with bias", "reorder Conv1D (64, 256) with bias"]  # fmt: skip
