"""LM metrics: perplexity = exp(token-mean NLL), against torch's cross-entropy on the full logits."""

import math

import torch
import torch.nn.functional as F

from hf_replearn.evaluation.lm_metrics import lm_metrics, reduce_logits


def test_mlm_metrics_match_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 11, generator=g)
    labels = torch.full((3, 6), -100)
    labels[0, 1], labels[1, 4], labels[2, 0], labels[2, 5] = 3, 7, 10, 0
    preds, nll = reduce_logits(logits, labels)
    assert preds.shape == nll.shape == (3, 6)  # the vocabulary axis is gone
    m = lm_metrics((preds.numpy(), nll.numpy()), labels.numpy())
    ce = F.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1), ignore_index=-100).item()
    assert m["tokens"] == 4
    assert math.isclose(m["token_loss"], ce, rel_tol=1e-6)
    assert math.isclose(m["perplexity"], math.exp(ce), rel_tol=1e-6)
    assert m["accuracy"] == sum(logits[i, j].argmax().item() == labels[i, j].item()
                                for i, j in [(0, 1), (1, 4), (2, 0), (2, 5)]) / 4


def test_causal_metrics_shift_by_one():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 5, 7, generator=g)
    labels = torch.randint(0, 7, (2, 5), generator=g)
    m = lm_metrics(tuple(t.numpy() for t in reduce_logits(logits, labels, causal=True)), labels.numpy(), causal=True)
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, 7), labels[:, 1:].reshape(-1)).item()
    assert m["tokens"] == 8
    assert math.isclose(m["perplexity"], math.exp(ce), rel_tol=1e-6)
