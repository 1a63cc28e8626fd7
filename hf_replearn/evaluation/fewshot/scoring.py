"""Log-likelihood of each choice of each request, with every shared token fed once.

Tokenisation follows lm-eval: ``whole = encode(context + continuation)``, ``ctx = encode(context)``, and
the continuation's tokens are ``whole[len(ctx):]``, so every choice of a question shares ``ctx``.

Scoring continuation ``c`` after ``ctx`` needs the logits of the positions that predict its tokens, i.e. a
forward pass of ``ctx + c[:-1]`` (the last token of ``c`` is never fed). For a batch of B requests with
n_b choices each, :mod:`.cached_forward` feeds, in up to three levels:

1. the prefix every request of the batch shares (a few-shot prompt with the same demonstrations for every
   document, such as lm-eval's ``first_n`` sampler), once, when that removes at least half of the tokens;
2. per request, the rest of its context plus the leading tokens all its choices share (for choices of one
   token after a shared delimiter, such as ``" A"``/``" B"`` in a character or byte vocabulary, this is all
   that is fed): B rows;
3. per choice, the tokens left, continuing its request's cached row: only for the choices that have any.

Requests are sorted by length (longest first) so that padding stays small and an out-of-memory error shows
up in the first batch; results are put back in input order. Padding only adds masked positions, so the
scores do not depend on the batch size (up to float rounding, ~1e-6).

Prompts longer than the model's context: ``truncation="error"`` (default) raises a UserError naming the
document; ``truncation="left"`` drops the oldest context tokens (the first demonstrations) with a warning.
"""

from __future__ import annotations

import warnings

import torch

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.cached_forward import common_prefix_len, feed, pad_right, shared_prefix_len
from hf_replearn.utils.progress import batches


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
    ctx, (cont,) = encode_choices(tokenizer, context, [continuation])
    return ctx, cont


def encode_choices(tokenizer, context: str, continuations: list[str],
                   empty_context: list[int] | None = None) -> tuple[list[int], list[list[int]]]:  # fmt: skip
    """(context ids, [continuation ids, ...]) as lm-eval's ``_encode_pair``, the context encoded once.

    An empty context is encoded as ``empty_context``, by default lm-eval's stand-in (:func:`prefix_token_id`),
    which a causal LM needs to predict the first token; a masked LM's sequence opens with its own [CLS]: ``[]``.
    """
    # a trailing space belongs to the continuation (lm-eval does the same), so " A" stays one unit
    n_spaces = len(context) - len(context.rstrip(" "))
    moved = context[len(context) - n_spaces :]
    context = context[: len(context) - n_spaces]
    wholes = tokenizer([context + moved + c for c in continuations], add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"] if context else []
    if not ctx:
        return (list(empty_context) if empty_context is not None else [prefix_token_id(tokenizer)]), wholes
    return ctx, [whole[len(ctx) :] for whole in wholes]


def rolling_windows(tokens: list[int], prefix: int, max_len: int) -> list[tuple[list[int], list[int]]]:
    """(context ids, continuation ids) windows that score every token of ``tokens`` once, as lm-eval's
    ``loglikelihood_rolling`` (``get_rolling_token_windows`` with a context of 1, then ``make_disjoint_window``): the
    first window predicts up to ``max_len`` tokens after ``prefix``; each later one predicts the next up to
    ``max_len`` tokens, conditioned on the ``max_len + 1 - len(predicted)`` tokens before them. Each fills at most
    ``max_len`` positions (the last continuation token is never fed)."""
    if not tokens:
        return []
    first = min(max_len, len(tokens))
    windows, done = [([prefix], tokens[:first])], first
    while done < len(tokens):
        size = min(len(tokens) - done, max_len)
        end = done + size
        windows.append((tokens[max(0, end - max_len - 1) : end - size], tokens[end - size : end]))
        done = end
    return windows


def check_choices(conts: list[list[int]], where: str) -> None:
    """A UserError for a request without choices or with a choice of no tokens of its own."""
    if not conts or any(len(c) == 0 for c in conts):
        raise UserError(f"{where}: {'no choices' if not conts else 'a choice that adds no token to the context'} (an empty "
                        "choice, or one the tokenizer merges into the context's last token, as a word-piece tokenizer "
                        "may with target_delimiter ''); every choice needs a token of its own")


def _check_length(ctx: list[int], conts: list[list[int]], max_len: int, truncation: str, where: str):
    """The context as it fits: context + continuation - 1 tokens are fed (lm-eval's limit); a UserError, or with
    ``truncation="left"`` the oldest context tokens dropped, when they do not fit ``max_len``."""
    longest = max(len(c) for c in conts)
    if longest > max_len:
        raise UserError(f"{where}: a continuation of {longest} tokens does not fit the model's {max_len}-token context")
    overflow = len(ctx) + longest - 1 - max_len
    if overflow <= 0:
        return ctx
    if truncation != "left":
        raise UserError(
            f"{where}: the prompt is {len(ctx) + longest - 1} tokens, longer than the model's context of {max_len}; "
            "use fewer shots (--shots), a model with a longer context, or --truncation left to drop the "
            "oldest demonstrations"
        )
    warnings.warn(f"{where}: prompt truncated from the left by {overflow} tokens to fit {max_len}", stacklevel=3)
    return ctx[overflow:]


@torch.inference_mode()
def score_choices(
    model,
    requests: list[tuple[list[int], list[list[int]]]],
    batch_size: int = 8,
    truncation: str = "error",
    names: list[str] | None = None,
    shared_prefix: bool = True,
    progress: str | None = None,
) -> list[list[tuple[float, bool]]]:
    """Per request (context ids, [continuation ids, ...]): [(log-likelihood, is_greedy), ...] per choice.

    ``shared_prefix=False`` feeds ``context + choice`` as one sequence per choice, nothing shared (lm-eval's
    way without its one-token grouping, and the way for a model whose forward takes no cache); the scores
    are the same, the time about n_choices x. ``progress``: a progress bar's label (``utils.progress.batches``).
    """
    max_len = max_context_length(model)
    names = names or [f"document {i}" for i in range(len(requests))]
    fixed = []
    for (ctx, conts), where in zip(requests, names):
        check_choices(conts, where)
        fixed.append((_check_length(ctx, conts, max_len, truncation, where), conts))
    if not shared_prefix:  # one request per choice, regrouped below
        sizes = [len(conts) for _, conts in fixed]
        fixed = [(ctx, [c]) for ctx, conts in fixed for c in conts]
    order = sorted(range(len(fixed)), key=lambda i: -(len(fixed[i][0]) + max(map(len, fixed[i][1]))))
    results: list = [None] * len(fixed)
    for start in batches(len(order), batch_size, progress):
        idx = order[start : start + batch_size]
        for i, scores in zip(idx, _score_batch(model, [fixed[i] for i in idx], share=shared_prefix)):
            results[i] = scores
    if not shared_prefix:
        flat = iter(row for (row,) in results)
        results = [[next(flat) for _ in range(n)] for n in sizes]
    return results


def _score_batch(model, batch, share: bool = True) -> list[list[tuple[float, bool]]]:
    """[(log-likelihood, is_greedy) per choice] per request of ``batch``; levels as in the module docstring."""
    device = next(model.parameters()).device
    heads, tails = [], []  # per request: context + its choices' shared leading tokens; per choice: the rest
    for ctx, conts in batch:
        n = common_prefix_len([c[:-1] for c in conts])
        heads.append(ctx + conts[0][:n])
        tails.append([c[n:-1] for c in conts])
    P = shared_prefix_len(heads) if share else 0
    segments = [[heads[0][:P]] if P else [], [h[P:] for h in heads], [t for ts in tails for t in ts if t]]
    parent_rows = [None, [0] * len(batch) if P else None, [b for b, ts in enumerate(tails) for t in ts if t]]
    # where the logits predicting each continuation token are: picks[level] = [(row, column, token, choice)]
    picks: list[list[tuple[int, int, int, int]]] = [[], [], []]
    choice, tail_row = 0, 0
    for b, (ctx, conts) in enumerate(batch):
        for cont, tail in zip(conts, tails[b]):
            for t, token in enumerate(cont):
                q = len(ctx) - 1 + t  # the position of ctx + cont[:-1] whose logits predict cont[t]
                if q < P:
                    picks[0].append((0, q, token, choice))
                elif q < len(heads[b]):
                    picks[1].append((b, q - P, token, choice))
                else:
                    picks[2].append((tail_row, q - len(heads[b]), token, choice))
            tail_row += bool(tail)
            choice += 1
    loglik = torch.zeros(choice, device=device)
    misses = torch.zeros(choice, device=device)  # continuation tokens that are not the argmax
    level = None
    for depth in range(3):
        if not segments[depth]:
            continue
        ids, mask = pad_right(segments[depth], device)
        first_col = min((col for _, col, _, _ in picks[depth]), default=ids.shape[1] - 1)
        later = any(segments[depth + 1 :])
        level = feed(model, ids, mask, level, parent_rows[depth], first_col, use_cache=later)
        if picks[depth]:
            row, col, token, owner = torch.tensor(picks[depth], device=device).unbind(-1)
            logits = level.logits[row, col - level.offset].float()  # (K, V)
            token_lp = torch.log_softmax(logits, dim=-1).gather(-1, token[:, None]).squeeze(-1)
            loglik.index_add_(0, owner, token_lp)
            misses.index_add_(0, owner, (logits.argmax(-1) != token).float())
    return _per_document(batch, loglik.tolist(), (misses == 0).tolist())


def _per_document(batch, lls: list[float], greedy: list[bool]) -> list[list[tuple[float, bool]]]:
    """The per-choice rows (every document's choices, in order) regrouped per document of ``batch``."""
    scores, n = [], 0
    for _, cs in batch:
        scores.append(list(zip(lls[n : n + len(cs)], greedy[n : n + len(cs)])))
        n += len(cs)
    return scores
