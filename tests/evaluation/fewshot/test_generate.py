import torch

from hf_replearn.evaluation.fewshot.generation import generate_until

CONTEXTS = ["a -> A\nb ->", "q", "ab -> B\nba -> A\nabc ->"]


def test_generation_stops_before_the_stop_sequence(model, tokenizer):
    full = generate_until(model, tokenizer, CONTEXTS, until=[], max_gen_toks=12)
    assert all(len(tokenizer(t)["input_ids"]) == 12 for t in full)  # no stop: runs to max_gen_toks
    for ctx, text in zip(CONTEXTS, full):
        stop = text[4]  # a character the greedy continuation does produce
        (cut,) = generate_until(model, tokenizer, [ctx], until=[stop], max_gen_toks=12)
        assert cut == text[: text.index(stop)] and stop not in cut


def test_generation_does_not_depend_on_batch_size(model, tokenizer):
    ref = generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8, batch_size=1)
    assert generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8, batch_size=3) == ref


def _greedy_by_hand(model, tokenizer, context: str, n: int) -> str:
    """n greedy tokens, each from one full forward pass of everything so far (no cache, no padding)."""
    ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    out = []
    for _ in range(n):
        token = model(torch.tensor([ids + out])).logits[0, -1].argmax().item()
        if token == tokenizer.eos_token_id:
            break
        out.append(token)
    return tokenizer.decode(out, skip_special_tokens=True)


def test_batched_generation_equals_one_by_one_greedy(model, tokenizer):
    """Prompts sharing long demonstrations (fed once for the batch) and prompts sharing nothing."""
    shots = "ab -> B\nba -> A\naab -> B\nbba -> A\n"
    contexts = [shots + q for q in ("a ->", "bab ->", "b ->")] + CONTEXTS
    for batch_size in (3, 6):
        got = generate_until(model, tokenizer, contexts, until=[], max_gen_toks=10, batch_size=batch_size)
        assert got == [_greedy_by_hand(model, tokenizer, c, 10) for c in contexts]
