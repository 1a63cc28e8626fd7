"""Greedy generation until a stop string, batched, with the prompt prefix shared by a batch fed once.

Written out rather than through ``model.generate`` because the batch's shared prefix (the demonstrations of
a ``first_n`` few-shot prompt) is fed once and continued by every row (:mod:`.cached_forward`), which
``generate`` cannot do. Decoding is plain greedy (argmax at every step, as lm-eval's ``do_sample: false``);
a row stops at an end-of-sequence token (the model's ``generation_config.eos_token_id``, else the
tokenizer's) or once its text holds a stop string, and the batch stops when every row has. The stop test
reads the new tokens on the host once per step: one step's forward pass costs far more than that read, and
stopping a step early saves a whole pass.
"""

from __future__ import annotations

import torch

from hf_replearn.evaluation.fewshot.cached_forward import feed, pad_right, shared_prefix_len
from hf_replearn.evaluation.fewshot.scoring import _check_length, max_context_length, prefix_token_id


@torch.inference_mode()
def generate_until(
    model,
    tokenizer,
    contexts: list[str],
    until: list[str],
    max_gen_toks: int = 32,
    batch_size: int = 8,
    truncation: str = "error",
) -> list[str]:
    """Greedy continuation of each context, cut before the first stop string in ``until``."""
    max_len = max_context_length(model, tokenizer)
    encoded = []
    for i, text in enumerate(contexts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] or [prefix_token_id(tokenizer)]
        encoded.append(_check_length(ids, [[0] * max_gen_toks], max_len, truncation, f"document {i}"))
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    eos = tokenizer.eos_token_id if eos is None else eos
    eos = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    outputs: list = [None] * len(encoded)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        generated = _greedy(model, tokenizer, [encoded[i] for i in idx], until, max_gen_toks, eos)
        for i, tokens in zip(idx, generated):
            text = tokenizer.decode(tokens, skip_special_tokens=True)
            for stop in until:
                text = text.split(stop, 1)[0]
            outputs[i] = text
    return outputs


def _greedy(model, tokenizer, prompts: list[list[int]], until, max_gen_toks: int, eos: set) -> list[list[int]]:
    """The generated tokens of each prompt (no end-of-sequence token), up to its stop."""
    device = next(model.parameters()).device
    B, P = len(prompts), shared_prefix_len(prompts)
    level = None
    if P:
        level = feed(model, *pad_right([prompts[0][:P]], device), first_col=P - 1)
    ids, mask = pad_right([p[P:] for p in prompts], device)
    lengths = mask.sum(-1)  # (B,): each row's last prompt token sits at column length - 1
    level = feed(model, ids, mask, level, [0] * B if P else None, first_col=int(lengths.min()) - 1)
    next_tok = level.logits[torch.arange(B, device=device), lengths - 1 - level.offset].argmax(-1)  # (B,)
    generated: list[list[int]] = [[] for _ in range(B)]
    done = [False] * B
    for step in range(max_gen_toks):
        for b, token in enumerate(next_tok.tolist()):
            if done[b]:
                continue
            if token in eos:
                done[b] = True
                continue
            generated[b].append(token)
            if until and any(s in tokenizer.decode(generated[b], skip_special_tokens=True) for s in until):
                done[b] = True
        if all(done) or step == max_gen_toks - 1:
            break
        level = feed(model, next_tok[:, None], torch.ones(B, 1, dtype=torch.long, device=device), level)
        next_tok = level.logits[:, -1].argmax(-1)
    return generated
