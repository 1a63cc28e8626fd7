"""Pseudo-log-likelihood scoring for masked LMs (Salazar et al., 2020, "Masked Language Model Scoring").

PLL(continuation | context) = sum_t log p(w_t | [CLS] context continuation [SEP] with w_t masked),
over the continuation's tokens t: one forward pass per continuation token, each with one token masked.
It plugs into :func:`evaluate_task` as ``scorer=``, so a masked LM is compared with causal LMs on the
same task files (acc, acc_norm and acc_mutual_info; generate_until needs a causal LM).
"""

from __future__ import annotations

import torch

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.scoring import _check_length, check_choices, max_context_length


@torch.no_grad()
def score_choices_pll(model, tokenizer, requests, batch_size: int = 32, truncation: str = "error", names=None):
    """Same contract as :func:`scoring.score_choices`: [(pll, is_greedy), ...] per choice per request."""
    if tokenizer.mask_token_id is None:
        raise UserError("pseudo-log-likelihood scoring needs a tokenizer with a mask token (a masked LM's)")
    cls = [tokenizer.cls_token_id] if tokenizer.cls_token_id is not None else []
    sep = [tokenizer.sep_token_id] if tokenizer.sep_token_id is not None else []
    device = next(model.parameters()).device
    max_len = max_context_length(model, tokenizer) - len(cls) - len(sep)
    names = names or [f"document {i}" for i in range(len(requests))]
    # one row per (request, choice, masked position): (sequence, masked index, true token, key)
    rows = []
    for r, ((ctx, conts), where) in enumerate(zip(requests, names)):
        check_choices(conts, where)
        ctx = _check_length(ctx, conts, max_len, truncation, where)
        for c, cont in enumerate(conts):
            seq = cls + list(ctx) + list(cont) + sep
            start = len(cls) + len(ctx)
            rows += [(seq, start + t, tok, (r, c)) for t, tok in enumerate(cont)]
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))  # length-sorted batches
    lp = torch.zeros(len(rows), dtype=torch.float64)
    hit = torch.zeros(len(rows), dtype=torch.bool)
    pad = tokenizer.pad_token_id or 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        L = max(len(rows[i][0]) for i in idx)
        ids = torch.full((len(idx), L), pad, dtype=torch.long)
        mask = torch.zeros(len(idx), L, dtype=torch.long)
        for b, i in enumerate(idx):
            seq, pos = rows[i][0], rows[i][1]
            ids[b, : len(seq)] = torch.tensor(seq)
            ids[b, pos] = tokenizer.mask_token_id
            mask[b, : len(seq)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()  # (b, L, V)
        pos = torch.tensor([rows[i][1] for i in idx], device=device)
        tok = torch.tensor([rows[i][2] for i in idx], device=device)
        at = logits[torch.arange(len(idx), device=device), pos]  # (b, V)
        lp[idx] = torch.log_softmax(at, -1).gather(-1, tok[:, None]).squeeze(-1).double().cpu()
        hit[idx] = (at.argmax(-1) == tok).cpu()
    totals: dict = {}
    for i, (_, _, _, key) in enumerate(rows):
        ll, greedy = totals.get(key, (0.0, True))
        totals[key] = (ll + lp[i].item(), greedy and bool(hit[i]))
    return [[totals[(r, c)] for c in range(len(conts))] for r, (_, conts) in enumerate(requests)]
