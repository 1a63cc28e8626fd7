"""LoRA on mlm / clm: continued pretraining of a saved tiny model trains the adapter only; bad input is named."""

import json

import pytest
import torch
from safetensors.torch import load_file

from hf_replearn.tasks import build_recipe, run_recipe
from hf_replearn.data import text
from hf_replearn.errors import UserError
from hf_replearn.tasks.lm import prepare

pytestmark = pytest.mark.skipif(not text.FORTUNES_DIR.is_dir(), reason="apt-get install fortunes")

HIDDEN, LAYERS, R, ALPHA = 32, 2, 4, 8


def _raw(task, output_dir, **sections):
    raw = {"task": task, "seed": 0, "dataset_limit": 200, "data": {"corpus": "fortunes", "block_size": 32},
           "tokenizer": {"vocab_size": 300},
           "model": {"hidden_size": HIDDEN, "num_layers": LAYERS, "num_heads": 2, "intermediate_size": 64},
           "generation": {"prompts": ["The"], "max_new_tokens": 5},
           "training": {"output_dir": str(output_dir), "max_steps": 3, "per_device_train_batch_size": 8,
                        "logging_steps": 1, "learning_rate": 0.01, "save_steps": 3}}  # fmt: skip
    if task == "mlm":
        raw.pop("generation")
    return {**raw, **sections}


@pytest.fixture(scope="module", params=["mlm", "clm"])
def saved_model(request, tmp_path_factory):
    """A tiny BERT (mlm) or GPT-2 (clm) with its tokenizer trained on fortunes, saved as a checkpoint folder."""
    task = request.param
    folder = tmp_path_factory.mktemp(f"base_{task}")
    tokenizer, model, _ = prepare(build_recipe(_raw(task, folder)), causal=task == "clm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return task, folder


def test_lora_continued_pretraining_trains_only_the_adapter(saved_model, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    task, base_dir = saved_model
    results = run_recipe(build_recipe(_raw(task, tmp_path, model={"path": str(base_dir)},
                                           lora={"r": R, "alpha": ALPHA, "dropout": 0.0})))
    # PEFT's defaults: BERT's query and value (A: r x d, B: d x r each); GPT-2's fused c_attn (d -> 3d).
    per_layer = 2 * (R * HIDDEN + HIDDEN * R) if task == "mlm" else R * HIDDEN + 3 * HIDDEN * R
    assert results["model/trainable_params"] == LAYERS * per_layer
    state = json.loads((tmp_path / "checkpoint-3" / "trainer_state.json").read_text())
    losses = [e["loss"] for e in state["log_history"] if "loss" in e]
    assert len(losses) == 3 and all(0 < v < 10 for v in losses)  # logged every step, near log(300) = 5.7

    # Only the adapter is saved: every merged weight is the base's, except the targets, which are W0 + (alpha/r) B A.
    adapter = load_file(tmp_path / "adapter_model.safetensors")
    assert adapter and all("lora_" in k for k in adapter)
    assert max(v.abs().max().item() for k, v in adapter.items() if "lora_B" in k) > 0  # B left zero: nothing trained
    base = load_file(base_dir / "model.safetensors")
    auto = AutoModelForCausalLM if task == "clm" else AutoModelForMaskedLM
    merged = auto.from_pretrained(tmp_path / "merged")
    merged_state = merged.state_dict()
    changed = set()
    for key, w0 in base.items():
        module = key.rsplit(".", 1)[0]
        a = adapter.get(f"base_model.model.{module}.lora_A.weight")
        if a is None or not key.endswith(".weight"):
            assert torch.equal(merged_state[key], w0), key
            continue
        delta = (ALPHA / R) * adapter[f"base_model.model.{module}.lora_B.weight"] @ a  # (d_out, d_in)
        if task == "clm":
            delta = delta.T  # GPT-2's Conv1D stores (d_in, d_out)
        assert torch.allclose(merged_state[key], w0 + delta, atol=1e-6), key
        changed.add(key)
    assert len(changed) == LAYERS * (2 if task == "mlm" else 1)

    # The adapter on its base and the merged model compute the same function.
    peft_model = PeftModel.from_pretrained(auto.from_pretrained(base_dir), tmp_path).eval()
    ids = torch.randint(5, 300, (2, 16))
    with torch.no_grad():
        assert torch.allclose(peft_model(input_ids=ids).logits, merged.eval()(input_ids=ids).logits, atol=1e-5)
    card = (tmp_path / "README.md").read_text()
    assert f"further pretrained from `{base_dir}`" in card and "## LoRA" in card


def test_lora_without_model_path_is_an_error(tmp_path):
    with pytest.raises(UserError, match="lora adapts a pretrained model.*set model.path="):
        run_recipe(build_recipe(_raw("mlm", tmp_path, lora={"r": 4})))
    assert not (tmp_path / "adapter_model.safetensors").exists()


def test_unknown_lora_target_is_named(saved_model, tmp_path):
    task, base_dir = saved_model
    layer = "query" if task == "mlm" else "c_attn"
    with pytest.raises(UserError, match=rf"lora.target_modules=\['nope'\]: names no layer of the model; .*{layer}"):
        run_recipe(build_recipe(_raw(task, tmp_path, model={"path": str(base_dir)}, lora={"target_modules": ["nope"]})))
