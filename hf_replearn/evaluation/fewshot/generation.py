"""Generation until a stop string, batched, with the prompt prefix shared by a batch fed once.

Written out rather than through ``model.generate`` because the batch's shared prefix (the demonstrations of
a ``first_n`` few-shot prompt) is fed once and continued by every row (:mod:`.cached_forward`), which
``generate`` cannot do. Decoding is greedy (argmax at every step, as lm-eval's ``do_sample: false``) or, with
``sampling``, drawn as ``generate(do_sample=True)`` draws: transformers' own temperature, top-k and top-p warpers
in that order, then one draw from the softmax. Each document draws from its own generator, seeded by the run's
seed and the document's index, so a document's answer does not depend on the batch size or on its batch mates
(lm-eval draws from torch's global generator: the same distribution, other draws).

With ``num_beams`` above 1 (lm-eval's ``generation_kwargs: {num_beams: N}``) each batch goes through transformers'
``generate`` as lm-eval sends it there: left-padded prompts, beam search with the model's generation config, at most
``max_gen_toks`` new tokens, and lm-eval's stop rule, which shapes what the search returns: per stop string, the
whole batch stops once each of the first B of generate's B x N rows has held that string among its last new tokens
(:class:`_FirstRowsStop`). Prompts are batched in lm-eval's order (longest first, ties by text), as the rule
depends on which prompts share a batch; greedy and sampled answers do not.

A row stops at an end-of-sequence token (the model's ``generation_config.eos_token_id``, else the tokenizer's)
or once its text holds a stop string, and the batch stops when every row has. The stop test
reads the new tokens on the host once per step: one step's forward pass costs far more than that read, and
stopping a step early saves a whole pass.
"""

from __future__ import annotations

import torch

from hf_replearn.evaluation.fewshot.cached_forward import feed, pad_right, shared_prefix_len
from hf_replearn.evaluation.fewshot.scoring import _check_length, max_context_length, prefix_token_id
from hf_replearn.utils.progress import batches


@torch.inference_mode()
def generate_until(
    model,
    tokenizer,
    contexts: list[str],
    until: list[str],
    max_gen_toks: int = 32,
    batch_size: int = 8,
    truncation: str = "error",
    sampling: dict | None = None,
    seed: int = 0,
    progress: str | None = None,
    num_beams: int = 1,
) -> list[str]:
    """The continuation of each context, cut before the first stop string in ``until``: greedy, or drawn with
    ``sampling`` (``temperature`` / ``top_k`` / ``top_p``, each defaulting to the model's generation config, then to
    transformers' defaults) from generators seeded by ``seed`` and the context's index. ``progress``: a progress
    bar's label (``utils.progress.batches``)."""
    max_len = max_context_length(model, tokenizer)
    encoded = []
    for i, text in enumerate(contexts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] or [prefix_token_id(tokenizer)]
        encoded.append(_check_length(ids, [[0] * max_gen_toks], max_len, truncation, f"document {i}"))
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    eos = tokenizer.eos_token_id if eos is None else eos
    eos = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
    order = sorted(range(len(encoded)), key=lambda i: (-len(encoded[i]), contexts[i]))  # lm-eval's order
    outputs: list = [None] * len(encoded)
    warpers = None if sampling is None else _warpers(model, sampling)
    for start in batches(len(order), batch_size, progress):
        idx = order[start : start + batch_size]
        if num_beams > 1:
            generated = _beam_search(model, tokenizer, [encoded[i] for i in idx], until, max_gen_toks, eos, num_beams)
        else:
            pick = _argmax if warpers is None else _sampler(warpers, [_seed(seed, i) for i in idx])
            generated = _decode(model, tokenizer, [encoded[i] for i in idx], until, max_gen_toks, eos, pick)
        for i, tokens in zip(idx, generated):
            text = tokenizer.decode(tokens, skip_special_tokens=True)
            for stop in until:
                text = text.split(stop, 1)[0]
            outputs[i] = text
    return outputs


def _seed(seed: int, index: int) -> int:
    """A 32-bit seed mixed from (seed, document index): torch's CPU generator keeps 32 bits of its seed."""
    import numpy as np

    return int(np.random.SeedSequence([seed % 2**64, index]).generate_state(1)[0])


def _warpers(model, sampling: dict):
    """transformers' logits warpers for ``sampling``, as ``generate`` builds them for a sampled decode."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from hf_replearn.evaluation.fewshot.keys import SAMPLING_DEFAULTS

    config = getattr(model, "generation_config", None)
    value = {k: sampling.get(k, getattr(config, k, None)) for k in SAMPLING_DEFAULTS}
    value = {k: default if value[k] is None else value[k] for k, default in SAMPLING_DEFAULTS.items()}
    warpers = LogitsProcessorList()
    if float(value["temperature"]) != 1.0:
        warpers.append(TemperatureLogitsWarper(float(value["temperature"])))
    if int(value["top_k"]) != 0:
        warpers.append(TopKLogitsWarper(top_k=int(value["top_k"])))
    if float(value["top_p"]) < 1.0:
        warpers.append(TopPLogitsWarper(top_p=float(value["top_p"])))
    return warpers


def _argmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.argmax(-1)


def _sampler(warpers, seeds: list[int]):
    """``pick(logits (B, V)) -> (B,)`` tokens, row b drawn from its own generator seeded with ``seeds[b]``."""
    generators = [torch.Generator().manual_seed(s) for s in seeds]

    def pick(logits: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(warpers(None, logits.float()), dim=-1).cpu()
        return torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, generators)]).to(logits.device)

    return pick


def _beam_search(model, tokenizer, prompts: list[list[int]], until, max_gen_toks: int, eos: set,
                 num_beams: int) -> list[list[int]]:
    """The best beam's new tokens for each prompt (up to its end-of-sequence token), from transformers' ``generate``
    on the left-padded batch. Hand-written decoding (:func:`_decode`) keeps one sequence per row; beam search is
    ``generate``'s own."""
    from transformers import StoppingCriteriaList

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else prefix_token_id(tokenizer)
    width = max(map(len, prompts))
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    stops = StoppingCriteriaList([_FirstRowsStop(tokenizer, s, width, len(prompts)) for s in until])
    out = model.generate(input_ids=ids, attention_mask=mask, num_beams=num_beams, do_sample=False,
                         max_new_tokens=max_gen_toks, pad_token_id=pad, eos_token_id=sorted(eos) or None,
                         stopping_criteria=stops)  # fmt: skip
    generated = []
    for row in out[:, width:].tolist():
        end = next((t for t, token in enumerate(row) if token in eos), len(row))
        generated.append(row[:end])
    return generated


class _FirstRowsStop:
    """lm-eval's stop rule for ``generate`` (``MultiTokenEOSCriteria``), written here to give its beams: row r of the
    first ``rows`` is done once the decoded last len(tokens of ``stop``) + 2 new tokens hold ``stop`` (and stays done);
    ``generate`` stops every row once all of those are done. Under beam search the first rows are the beams of the
    first prompts only. (A plain callable: ``generate`` calls its stopping criteria and ORs what they return.)"""

    def __init__(self, tokenizer, stop: str, prompt_width: int, rows: int):
        self.tokenizer, self.stop, self.prompt_width = tokenizer, stop, prompt_width
        self.lookback = len(tokenizer.encode(stop, add_special_tokens=False)) + 2
        self.done = [False] * rows

    def __call__(self, input_ids, scores, **kwargs) -> bool:
        tails = self.tokenizer.batch_decode(input_ids[: len(self.done), self.prompt_width :][:, -self.lookback :])
        self.done = [done or self.stop in tail for done, tail in zip(self.done, tails)]
        return all(self.done)


def _decode(model, tokenizer, prompts: list[list[int]], until, max_gen_toks: int, eos: set, pick) -> list[list[int]]:
    """The generated tokens of each prompt (no end-of-sequence token), up to its stop; ``pick`` turns a step's
    logits into its tokens."""
    device = next(model.parameters()).device
    B, P = len(prompts), shared_prefix_len(prompts)
    level = None
    if P:
        level = feed(model, *pad_right([prompts[0][:P]], device), first_col=P - 1)
    ids, mask = pad_right([p[P:] for p in prompts], device)
    lengths = mask.sum(-1)  # (B,): each row's last prompt token sits at column length - 1
    level = feed(model, ids, mask, level, [0] * B if P else None, first_col=int(lengths.min()) - 1)
    next_tok = pick(level.logits[torch.arange(B, device=device), lengths - 1 - level.offset])  # (B,)
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
        next_tok = pick(level.logits[:, -1])
    return generated
