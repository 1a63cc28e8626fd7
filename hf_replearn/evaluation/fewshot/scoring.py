"""Log-likelihood scoring of choices with the shared prompt encoded once, and greedy generation.

Tokenisation follows lm-eval: ``whole = encode(context + continuation)``, ``ctx = encode(context)``, and
the continuation's tokens are ``whole[len(ctx):]``, so every choice of a question shares ``ctx``.

Scoring a batch of B questions with n_b choices each (N = sum n_b continuations):

1. the contexts, left-padded to Lc, go through the model once -> cache (B, heads, Lc, d) and the logits
   at the last context position (B, V), which predict each continuation's first token;
2. the cache rows are repeated to (N, heads, Lc, d) and the continuations, right-padded to Lt, go through
   the model with the context mask prepended and positions continuing from each context's true length.

The shared prompt, usually most of the tokens at k > 0, is thus encoded once per question, not once per
choice. Questions are sorted by length (longest first) so that padding stays small and an out-of-memory
error shows up in the first batch; results are put back in input order. Padding only adds masked
positions, so the scores do not depend on the batch size (up to float rounding, ~1e-6).

Prompts longer than the model's context: ``truncation="error"`` (default) raises a UserError naming the
document; ``truncation="left"`` drops the oldest context tokens (the first demonstrations) with a warning.
"""

from __future__ import annotations

import inspect
import warnings

import torch

from hf_replearn.errors import UserError


def max_context_length(model, tokenizer=None) -> int:
    config = model.config
    for name in ("n_positions", "max_position_embeddings", "n_ctx", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and value < 1_000_000 else 2048


def prefix_token_id(tokenizer) -> int:
    """Token standing in for an empty context (lm-eval uses the same: BOS, else EOS)."""
    for tok_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if tok_id is not None:
            return tok_id
    raise UserError("the tokenizer has neither a BOS nor an EOS token; an empty context cannot be scored")


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    # a trailing space belongs to the continuation (lm-eval does the same), so " A" stays one unit
    n_spaces = len(context) - len(context.rstrip(" "))
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"] if context else []
    if not ctx:
        ctx = [prefix_token_id(tokenizer)]
        return ctx, whole
    return ctx, whole[len(ctx) :]


def _cache_kwarg(model) -> str:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft wrapper
    params = inspect.signature(base.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _output_cache(out):
    return getattr(out, "cache", None) if getattr(out, "cache", None) is not None else out.past_key_values


def _check_length(ctx: list[int], conts: list[list[int]], max_len: int, truncation: str, where: str):
    longest = max(len(c) for c in conts)
    if longest >= max_len:
        raise UserError(f"{where}: a continuation of {longest} tokens does not fit the model's {max_len}-token context")
    overflow = len(ctx) + longest - max_len
    if overflow <= 0:
        return ctx
    if truncation != "left":
        raise UserError(
            f"{where}: the prompt is {len(ctx) + longest} tokens, longer than the model's context of {max_len}; "
            "use fewer shots (--shots), a model with a longer context, or --truncation left to drop the "
            "oldest demonstrations"
        )
    warnings.warn(f"{where}: prompt truncated from the left by {overflow} tokens to fit {max_len}", stacklevel=3)
    return ctx[overflow:]


@torch.no_grad()
def score_choices(
    model,
    requests: list[tuple[list[int], list[list[int]]]],
    batch_size: int = 8,
    truncation: str = "error",
    names: list[str] | None = None,
    shared_prefix: bool = True,
) -> list[list[tuple[float, bool]]]:
    """Per request (context ids, [continuation ids, ...]): [(log-likelihood, is_greedy), ...] per choice.

    ``shared_prefix=False`` encodes context + choice as one sequence per choice (lm-eval's way, and the way
    for a model whose forward takes no cache); the scores are the same, the time is about n_choices x.
    """
    device = next(model.parameters()).device
    max_len = max_context_length(model)
    names = names or [f"document {i}" for i in range(len(requests))]
    fixed = []
    for (ctx, conts), where in zip(requests, names):
        if not conts or any(len(c) == 0 for c in conts):
            raise UserError(f"{where}: an empty choice list or an empty choice; every choice needs at least one token")
        fixed.append((_check_length(ctx, conts, max_len, truncation, where), conts))
    order = sorted(range(len(fixed)), key=lambda i: -(len(fixed[i][0]) + max(map(len, fixed[i][1]))))
    results: list = [None] * len(fixed)
    cache_kw = _cache_kwarg(model)
    score_batch = _score_batch if shared_prefix else _score_batch_full
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        for i, scores in zip(idx, score_batch(model, [fixed[i] for i in idx], device, cache_kw)):
            results[i] = scores
    return results


def _score_batch(model, batch, device, cache_kw):
    B, Lc = len(batch), max(len(ctx) for ctx, _ in batch)
    ctx_ids = torch.zeros(B, Lc, dtype=torch.long)
    ctx_mask = torch.zeros(B, Lc, dtype=torch.long)
    for b, (ctx, _) in enumerate(batch):  # left padding: the last real token sits at position Lc-1
        ctx_ids[b, Lc - len(ctx) :] = torch.tensor(ctx)
        ctx_mask[b, Lc - len(ctx) :] = 1
    ctx_ids, ctx_mask = ctx_ids.to(device), ctx_mask.to(device)
    ctx_pos = (ctx_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ctx_ids, attention_mask=ctx_mask, position_ids=ctx_pos, use_cache=True)
    last_logits = out.logits[:, -1].float()  # (B, V): predicts each continuation's first token
    cache = _output_cache(out)

    row = torch.tensor([b for b, (_, conts) in enumerate(batch) for _ in conts], device=device)  # (N,)
    conts = [c for _, cs in batch for c in cs]
    N, Lt = len(conts), max(map(len, conts))
    cont_ids = torch.zeros(N, Lt, dtype=torch.long)
    cont_mask = torch.zeros(N, Lt, dtype=torch.long)
    for n, c in enumerate(conts):  # right padding: padded positions come after every real one
        cont_ids[n, : len(c)] = torch.tensor(c)
        cont_mask[n, : len(c)] = 1
    cont_ids, cont_mask = cont_ids.to(device), cont_mask.to(device)
    cache.reorder_cache(row)  # (B, h, Lc, d) -> (N, h, Lc, d)
    ctx_len = ctx_mask.sum(-1)[row]  # (N,)
    pos = ctx_len[:, None] + torch.arange(Lt, device=device)[None]  # (N, Lt)
    out = model(
        input_ids=cont_ids,
        attention_mask=torch.cat([ctx_mask[row], cont_mask], dim=1),
        position_ids=pos,
        use_cache=True,
        **{cache_kw: cache},
    )
    # logits that predict token t of a continuation: t=0 from the context's last position, t>0 from t-1
    logits = torch.cat([last_logits[row, None], out.logits[:, :-1].float()], dim=1)  # (N, Lt, V)
    logprobs = torch.log_softmax(logits, dim=-1)
    token_lp = logprobs.gather(-1, cont_ids[..., None]).squeeze(-1) * cont_mask  # (N, Lt)
    greedy = ((logits.argmax(-1) == cont_ids) | (cont_mask == 0)).all(-1)  # (N,)
    return _per_document(batch, token_lp.sum(-1).tolist(), greedy.tolist())


def _per_document(batch, lls: list[float], greedy: list[bool]) -> list[list[tuple[float, bool]]]:
    """The per-choice rows (every document's choices, in order) regrouped per document of ``batch``."""
    scores, n = [], 0
    for _, cs in batch:
        scores.append(list(zip(lls[n : n + len(cs)], greedy[n : n + len(cs)])))
        n += len(cs)
    return scores


def _score_batch_full(model, batch, device, cache_kw=None):
    """Reference path: one right-padded row ``context + choice`` per choice, no cache."""
    rows = [(ctx, c) for ctx, cs in batch for c in cs]
    N, L = len(rows), max(len(ctx) + len(c) for ctx, c in rows)
    ids = torch.zeros(N, L, dtype=torch.long)
    mask = torch.zeros(N, L, dtype=torch.long)
    target = torch.zeros(N, L, dtype=torch.long)  # continuation token at the position that predicts it
    tmask = torch.zeros(N, L, dtype=torch.long)
    for n, (ctx, c) in enumerate(rows):
        ids[n, : len(ctx) + len(c)] = torch.tensor(ctx + c)
        mask[n, : len(ctx) + len(c)] = 1
        target[n, len(ctx) - 1 : len(ctx) - 1 + len(c)] = torch.tensor(c)
        tmask[n, len(ctx) - 1 : len(ctx) - 1 + len(c)] = 1
    ids, mask, target, tmask = ids.to(device), mask.to(device), target.to(device), tmask.to(device)
    logits = model(input_ids=ids, attention_mask=mask).logits.float()  # (N, L, V)
    token_lp = torch.log_softmax(logits, -1).gather(-1, target[..., None]).squeeze(-1) * tmask
    greedy = ((logits.argmax(-1) == target) | (tmask == 0)).all(-1)
    return _per_document(batch, token_lp.sum(-1).tolist(), greedy.tolist())


class _StopOnStrings:
    """Stops each row once its generated text contains a stop string (per-row, for batched generation)."""

    def __init__(self, tokenizer, until: list[str], prompt_len: int):
        self.tokenizer, self.until, self.prompt_len = tokenizer, until, prompt_len

    def __call__(self, input_ids, scores, **kwargs):
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len :], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.until) for t in texts], device=input_ids.device)


@torch.no_grad()
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
    from transformers import StoppingCriteriaList

    device = next(model.parameters()).device
    max_len = max_context_length(model, tokenizer)
    encoded = []
    for i, text in enumerate(contexts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] or [prefix_token_id(tokenizer)]
        encoded.append(_check_length(ids, [[0] * max_gen_toks], max_len, truncation, f"document {i}"))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else prefix_token_id(tokenizer)
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    outputs: list = [None] * len(encoded)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        L = max(len(encoded[i]) for i in idx)
        ids = torch.full((len(idx), L), pad_id, dtype=torch.long)
        mask = torch.zeros(len(idx), L, dtype=torch.long)
        for b, i in enumerate(idx):
            ids[b, L - len(encoded[i]) :] = torch.tensor(encoded[i])
            mask[b, L - len(encoded[i]) :] = 1
        gen = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_gen_toks,
            do_sample=False,
            pad_token_id=pad_id,
            stopping_criteria=StoppingCriteriaList([_StopOnStrings(tokenizer, until, L)]) if until else None,
        )
        texts = tokenizer.batch_decode(gen[:, L:], skip_special_tokens=True)
        for i, text in zip(idx, texts):
            for stop in until:
                text = text.split(stop, 1)[0]
            outputs[i] = text
    return outputs
