"""Language-model evaluation metrics for Trainer: token-weighted loss, perplexity, token accuracy.

Memory: Trainer keeps every evaluation batch's predictions until ``compute_metrics``. Kept as raw
logits that is (examples x block x vocabulary) floats; :func:`reduce_logits` turns each batch's logits
into two numbers per position before they are stored (the argmax and the negative log-likelihood of
the label), so evaluation memory grows with examples x block only, whatever the vocabulary.

Perplexity (e.g. Jurafsky & Martin, ch. 3): PPL = exp( (1/N) sum_i -log p(w_i | context_i) ) over the N
predicted tokens (masked tokens for MLM, every next token for CLM). The mean is over tokens, not over
batches, so it does not depend on the evaluation batch size.
"""

from __future__ import annotations

import math

import numpy as np

IGNORE_INDEX = -100


def reduce_logits(logits, labels, causal: bool = False):
    """``preprocess_logits_for_metrics``: (B, T, V) logits -> ((B, T) argmax, (B, T) label NLL).

    For a causal LM the prediction at position t is for the label at t + 1; both outputs are shifted so
    that position t holds the prediction *for* label t (position 0 gets no prediction: -100 and 0).
    """
    import torch

    if isinstance(logits, tuple):  # models that also return hidden states
        logits = logits[0]
    logits = logits.float()
    if causal:
        logits = logits[:, :-1]
        labels = labels[:, 1:]
    valid = labels != IGNORE_INDEX
    logp = torch.log_softmax(logits, dim=-1)  # (B, T, V)
    nll = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid  # (B, T)
    preds = logits.argmax(dim=-1)  # (B, T)
    if causal:  # re-align to the label positions: prepend the position that has no prediction
        preds = torch.cat([torch.full_like(preds[:, :1], IGNORE_INDEX), preds], dim=1)
        nll = torch.cat([torch.zeros_like(nll[:, :1]), nll], dim=1)
    return preds, nll


def lm_metrics(predictions, label_ids, causal: bool = False) -> dict[str, float]:
    """Token accuracy, token-weighted mean NLL and perplexity from :func:`reduce_logits` outputs."""
    preds, nll = predictions
    labels = np.asarray(label_ids)
    if causal:  # the label at position 0 has no prediction
        labels = labels[:, 1:]
        preds, nll = np.asarray(preds)[:, 1:], np.asarray(nll)[:, 1:]
    valid = labels != IGNORE_INDEX
    n = int(valid.sum())
    if n == 0:
        return {"accuracy": float("nan"), "token_loss": float("nan"), "perplexity": float("nan"), "tokens": 0}
    mean_nll = float(np.asarray(nll, dtype=np.float64)[valid].sum() / n)
    return {
        "accuracy": float((np.asarray(preds)[valid] == labels[valid]).mean()),
        "token_loss": mean_nll,
        "perplexity": math.exp(min(mean_nll, 700.0)),
        "tokens": n,
    }


class LMMetrics:
    """The pair Trainer wants: ``preprocess_logits_for_metrics`` and ``compute_metrics``."""

    def __init__(self, causal: bool = False):
        self.causal = causal

    def preprocess_logits_for_metrics(self, logits, labels):
        return reduce_logits(logits, labels, causal=self.causal)

    def compute_metrics(self, eval_pred) -> dict[str, float]:
        return lm_metrics(eval_pred.predictions, eval_pred.label_ids, causal=self.causal)
