"""LoRA: only the adapter is saved, merged weights are base + (alpha / r) B A, bad settings are named."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertForSequenceClassification

from hf_replearn.errors import UserError
from hf_replearn.training.lora import LoraSection, apply_lora, count_parameters, export_merged


def _tiny():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)  # fmt: skip
    return BertForSequenceClassification(config).eval()


def test_adapter_only_checkpoint(tmp_path):
    model = apply_lora(_tiny(), LoraSection(r=4, alpha=8), task_type="SEQ_CLS")
    trainable, total = count_parameters(model)
    # 2 layers x (query, value) x (A: 4x16 + B: 16x4) = 512, plus the classifier head 16*2 + 2 = 34.
    assert trainable == 2 * 2 * (4 * 16 + 16 * 4) + 34
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["README.md", "adapter_config.json",
                                                                         "adapter_model.safetensors"]  # fmt: skip
    keys = load_file(tmp_path / "adapter_model.safetensors")
    assert keys and all("lora_" in k or "classifier" in k for k in keys)
    assert sum(v.numel() for v in keys.values()) == trainable


def test_merged_weights_equal_base_plus_scaled_BA(tmp_path):
    base = _tiny()
    w0 = base.bert.encoder.layer[0].attention.self.query.weight.detach().clone()
    model = apply_lora(base, LoraSection(r=4, alpha=8, dropout=0.0), task_type="SEQ_CLS")
    layer = model.base_model.model.bert.encoder.layer[0].attention.self.query
    with torch.no_grad():  # B starts at zero; give it values so that the update is not trivial
        layer.lora_B["default"].weight.normal_()
    a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight  # (r, d_in), (d_out, r)
    expected = w0 + (8 / 4) * b @ a
    x = torch.randint(0, 50, (2, 7))
    before = model(input_ids=x).logits
    merged = export_merged(model, tmp_path / "merged")
    assert torch.allclose(merged.bert.encoder.layer[0].attention.self.query.weight, expected, atol=1e-6)
    reloaded = BertForSequenceClassification.from_pretrained(tmp_path / "merged").eval()
    assert torch.allclose(reloaded(input_ids=x).logits, before, atol=1e-5)


def test_bad_lora_settings():
    with pytest.raises(UserError, match="lora.r must be a positive rank"):
        LoraSection(r=0)
    with pytest.raises(UserError, match="lora.target_modules"):
        apply_lora(_tiny(), LoraSection(target_modules=["nope"]), task_type="SEQ_CLS")
    with pytest.raises(UserError, match="no default LoRA target modules for model_type None.*fc"):
        apply_lora(torch.nn.ModuleDict({"fc": torch.nn.Linear(2, 2)}), LoraSection())
