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


@pytest.mark.parametrize("kind", ["distilbert", "t5", "bart"])
def test_every_task_head_module_trains_and_is_saved_with_the_adapter(tmp_path, kind):
    """PEFT's SEQ_CLS saves modules named classifier / score only: DistilBERT's pre_classifier and T5's / BART's
    classification_head would stay frozen at their random start and be missing from the adapter."""
    import transformers as T

    torch.manual_seed(0)
    small = dict(vocab_size=50, num_labels=2)
    model = {
        "distilbert": lambda: T.DistilBertForSequenceClassification(T.DistilBertConfig(dim=16, n_layers=1, n_heads=2, hidden_dim=32, **small)),
        "t5": lambda: T.T5ForSequenceClassification(T.T5Config(d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2, **small)),
        "bart": lambda: T.BartForSequenceClassification(T.BartConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                                                                     decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, **small)),
    }[kind]()  # fmt: skip
    heads = {"distilbert": ["pre_classifier", "classifier"], "t5": ["classification_head"], "bart": ["classification_head"]}[kind]
    head_params = sum(p.numel() for h in heads for p in getattr(model, h).parameters())
    peft_model = apply_lora(model, LoraSection(r=2, alpha=4), task_type="SEQ_CLS")
    lora_params = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)
    assert count_parameters(peft_model)[0] == lora_params + head_params
    peft_model.save_pretrained(tmp_path)
    saved = load_file(tmp_path / "adapter_model.safetensors")
    assert {k.split(".")[2] for k in saved if "lora_" not in k} == set(heads)


def test_a_task_model_without_a_base_model_child_keeps_peft_s_head_choice():
    import transformers as T

    from hf_replearn.training.lora import task_head_names

    model = T.T5ForQuestionAnswering(T.T5Config(d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2, vocab_size=50))
    assert task_head_names(model) == []  # its encoder and decoder are top-level children: none of them is a head
    peft_model = apply_lora(model, LoraSection(r=2, alpha=4), task_type="QUESTION_ANS")
    trainable = {n.split(".")[2] for n, p in peft_model.named_parameters() if p.requires_grad and "lora_" not in n}
    assert trainable == {"qa_outputs"}


def test_default_targets_for_encoders_peft_leaves_out():
    import transformers as T

    from hf_replearn.training.lora import default_target_modules

    small = dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    assert default_target_modules(T.AlbertModel(T.AlbertConfig(embedding_size=8, **small))) == ["query", "value"]
    assert default_target_modules(T.ModernBertModel(T.ModernBertConfig(pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2, **small))) == ["Wqkv"]
    assert default_target_modules(T.DistilBertModel(T.DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32))) == ["q_lin", "v_lin"]
    assert default_target_modules(_tiny()) == ["query", "value"]  # PEFT's own choice for BERT, which the extras copy
