"""Forward passes that continue rows of a KV cache, so that tokens shared by several sequences are fed once.

A sequence is fed in levels. A level is one forward pass over right-padded segments; segment m continues
row ``rows[m]`` of the previous level: its attention mask is that row's mask followed by the segment's own,
and its positions continue from the row's true length. Masked padding adds nothing to a real position, so
every real position sees exactly the tokens of its own sequence, and its logits equal those of one unpadded
forward pass of the whole sequence (up to float rounding, ~1e-6).

Scoring (:mod:`.scoring`) feeds up to three levels::

    prefix shared by the batch (1 row) -> per document: the rest of its prompt and the tokens its choices
    share (B rows) -> per choice: its own remaining tokens (only the choices that have some)

and greedy generation (:mod:`.generation`) adds one level per generated token.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import torch


class Level(NamedTuple):
    logits: torch.Tensor  # (M, L - offset, V): the logits of positions offset .. L-1 of each segment
    offset: int  # the column of logits[:, 0] among the segment's L positions
    mask: torch.Tensor  # (M, L_parent + L): the attention mask of everything fed so far, per row
    cache: object  # the model's KV cache for those rows (None when no later level needs it)


def pad_right(seqs: list[list[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask), both (M, L): each sequence followed by padding (id 0, mask 0)."""
    L = max(map(len, seqs))
    ids = torch.zeros(len(seqs), L, dtype=torch.long)
    mask = torch.zeros(len(seqs), L, dtype=torch.long)
    for m, seq in enumerate(seqs):
        ids[m, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[m, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def common_prefix_len(seqs: list[list[int]]) -> int:
    n = min(map(len, seqs))
    first = seqs[0]
    for seq in seqs[1:]:
        n = next((i for i in range(n) if seq[i] != first[i]), n)
    return n


def shared_prefix_len(seqs: list[list[int]]) -> int:
    """How many leading tokens to feed once for all ``seqs``: their common prefix, each sequence keeping at
    least one token of its own, when feeding it once removes at least half of the tokens to feed; else 0.

    The threshold: one more forward pass reads all the weights once more, which a few saved tokens do not
    repay (a 1-token common prefix would double the passes of a short-prompt batch).
    """
    if len(seqs) < 2:
        return 0
    n = min(common_prefix_len(seqs), min(map(len, seqs)) - 1)
    return n if 2 * (len(seqs) - 1) * n >= sum(map(len, seqs)) else 0


def _forward_params(model) -> set[str]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft wrapper
    return set(inspect.signature(base.forward).parameters)


def feed(model, ids, seg_mask, parent: Level | None = None, rows=None, first_col: int = 0,
         use_cache: bool = True) -> Level:  # fmt: skip
    """One forward pass of segments ``ids`` / ``seg_mask`` (M, L), segment m continuing row ``rows[m]`` of
    ``parent`` (``rows=None``: row m). Only the logits of columns ``first_col`` .. L-1 are kept (the
    model computes no others when its forward takes ``logits_to_keep``)."""
    params = _forward_params(model)
    M, L = ids.shape
    kwargs = {}
    if parent is None:
        mask = seg_mask
        positions = torch.arange(L, device=ids.device).expand(M, L)
    else:
        cache, parent_mask = parent.cache, parent.mask
        if rows is not None:
            rows = torch.as_tensor(rows, dtype=torch.long, device=ids.device)
            cache.reorder_cache(rows)  # (R, heads, Lp, d) -> (M, heads, Lp, d), in place
            parent_mask = parent_mask[rows]
        mask = torch.cat([parent_mask, seg_mask], dim=1)
        positions = parent_mask.sum(-1, keepdim=True) + torch.arange(L, device=ids.device)
        kwargs["cache" if "cache" in params else "past_key_values"] = cache
    first_col = min(max(first_col, 0), L - 1)
    if "logits_to_keep" in params:
        kwargs["logits_to_keep"] = L - first_col
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=use_cache, **kwargs)
    logits = out.logits[:, first_col - L :]
    if not use_cache:
        return Level(logits, first_col, mask, None)
    # transformers 5 names the output's cache `cache` (reading `past_key_values` there logs a deprecation)
    new_cache = out.cache if "cache" in getattr(out, "__dataclass_fields__", {}) else out.past_key_values
    return Level(logits, first_col, mask, new_cache)
