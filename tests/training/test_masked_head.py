"""The masked-positions-only LM head: same loss and gradients as the full head, on masked positions only."""

import pytest
import torch
from transformers import (BertConfig, BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM, RobertaConfig,
                          RobertaForMaskedLM)

from hf_replearn.training.masked_head import MaskedPositionsOnly

SMALL = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
             max_position_embeddings=40, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _model(family):
    torch.manual_seed(0)
    if family == "bert":
        return BertForMaskedLM(BertConfig(**SMALL))
    return RobertaForMaskedLM(RobertaConfig(**SMALL, pad_token_id=1))


def _batch():
    g = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, 50, (3, 12), generator=g)
    labels = torch.full_like(input_ids, -100)
    chosen = torch.rand(3, 12, generator=g) < 0.2
    chosen[0, 0] = True  # at least one label
    labels[chosen] = input_ids[chosen]
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}


def _loss_and_grads(model, batch):
    model.zero_grad()
    out = model(**batch)
    out.loss.backward()
    return out, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_same_loss_and_gradients_as_full_head(family):
    model, batch = _model(family).train(), _batch()
    full, full_grads = _loss_and_grads(model, batch)
    hooks = MaskedPositionsOnly(model)
    assert hooks.active
    sparse, sparse_grads = _loss_and_grads(model, batch)
    n_masked = int((batch["labels"] != -100).sum())
    assert full.logits.shape == (3, 12, 50)
    assert sparse.logits.shape == (n_masked, 50)  # the head saw the masked positions only
    assert torch.allclose(sparse.loss, full.loss, atol=1e-6)
    assert full_grads.keys() == sparse_grads.keys()
    for name, grad in full_grads.items():
        assert torch.allclose(sparse_grads[name], grad, atol=1e-6), name
    assert batch["labels"].shape == (3, 12)  # the caller's batch is not modified


def test_evaluation_and_removal_keep_full_logits():
    model, batch = _model("bert"), _batch()
    hooks = MaskedPositionsOnly(model)
    with torch.no_grad():
        assert model.eval()(**batch).logits.shape == (3, 12, 50)  # metrics need every position
        assert model.train()(**{k: v for k, v in batch.items() if k != "labels"}).logits.shape == (3, 12, 50)
        hooks.remove()
        assert model(**batch).logits.shape == (3, 12, 50)


def test_model_without_known_head_is_left_alone():
    torch.manual_seed(0)
    model = DistilBertForMaskedLM(DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32,
                                                   max_position_embeddings=40))
    hooks = MaskedPositionsOnly(model)
    assert not hooks.active
    assert model.train()(**_batch()).logits.shape == (3, 12, 50)
