"""TextEncoderModel: a transformers text model with its token states pooled, as an AutoModel and a dual encoder's tower."""

import pytest
import torch
from transformers import AutoModel, BertConfig, BertModel

import hf_replearn.models  # noqa: F401  (registers the Auto classes)
from hf_replearn.models.text_encoder import TextEncoderConfig, TextEncoderModel

TINY_BERT = dict(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                 max_position_embeddings=16)  # fmt: skip


def test_mean_pooling_is_the_masked_mean_and_ignores_padding():
    torch.manual_seed(0)
    model = TextEncoderModel(TextEncoderConfig(backbone_config=BertConfig(**TINY_BERT))).eval()
    ids = torch.tensor([[2, 5, 7, 3, 0, 0], [2, 9, 4, 6, 8, 3]])
    mask = (ids != 0).long()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
        torch.testing.assert_close(out.pooler_output[0], out.last_hidden_state[0, :4].mean(dim=0))
        torch.testing.assert_close(out.pooler_output[1], out.last_hidden_state[1].mean(dim=0))
        alone = model(input_ids=ids[:1, :4], attention_mask=mask[:1, :4]).pooler_output
    torch.testing.assert_close(out.pooler_output[:1], alone, atol=1e-6, rtol=1e-5)
    assert model.config.hidden_size == 8


def test_cls_pooling_and_bad_pooling():
    torch.manual_seed(0)
    model = TextEncoderModel(TextEncoderConfig(backbone_config=BertConfig(**TINY_BERT), pooling="cls")).eval()
    ids = torch.tensor([[2, 5, 7, 3]])
    with torch.no_grad():
        out = model(input_ids=ids)
    torch.testing.assert_close(out.pooler_output, out.last_hidden_state[:, 0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="pooling must be one of mean, cls"):
        TextEncoderConfig(pooling="max")


def test_from_backbone_keeps_the_pretrained_weights_and_round_trips(tmp_path):
    torch.manual_seed(0)
    BertModel(BertConfig(**TINY_BERT)).save_pretrained(tmp_path / "bert")
    model = TextEncoderModel.from_backbone(str(tmp_path / "bert")).eval()
    reference = BertModel.from_pretrained(tmp_path / "bert").eval()
    ids = torch.tensor([[2, 5, 7, 3]])
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).last_hidden_state, reference(input_ids=ids).last_hidden_state, rtol=0, atol=0)
    model.save_pretrained(tmp_path / "encoder")
    loaded = AutoModel.from_pretrained(tmp_path / "encoder").eval()
    assert type(loaded) is TextEncoderModel and loaded.config.backbone_config.model_type == "bert"
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).pooler_output, model(input_ids=ids).pooler_output, rtol=0, atol=0)


def test_the_shipped_minilm_mean_pooled_puts_related_texts_closer():
    from transformers import AutoTokenizer

    from hf_replearn.models.pretrained import shipped_minilm_path

    path = shipped_minilm_path()
    model, tokenizer = TextEncoderModel.from_backbone(path).eval(), AutoTokenizer.from_pretrained(path)
    batch = tokenizer(["an emoji of dog face", "an emoji of animals and nature", "an emoji of a red car"],
                      padding=True, return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        dog, animals, car = torch.nn.functional.normalize(model(**batch).pooler_output, dim=-1)
    assert dog @ animals > dog @ car + 0.1
