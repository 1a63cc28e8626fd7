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


SAMPLINGS = [{"temperature": 1.5}, {"temperature": 0.7, "top_p": 0.9}, {"temperature": 2.0, "top_k": 5}]


def test_a_sampled_answer_is_transformers_generate_draw_for_draw(model, tokenizer):
    """One document: its generator seeded as generate_until seeds it, transformers' generate(do_sample=True) from the
    global generator seeded the same: the same warpers in the same order give the same tokens."""
    from hf_replearn.evaluation.fewshot.generation import _seed

    for sampling in SAMPLINGS:
        for seed in (0, 1):
            for ctx in CONTEXTS:
                (ours,) = generate_until(model, tokenizer, [ctx], until=[], max_gen_toks=10, sampling=sampling, seed=seed)
                ids = torch.tensor([tokenizer(ctx, add_special_tokens=False)["input_ids"]])
                torch.manual_seed(_seed(seed, 0))
                out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, max_new_tokens=10,
                                     pad_token_id=tokenizer.pad_token_id, **sampling)  # fmt: skip
                new = out[0, ids.shape[1]:].tolist()
                new = new[: new.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in new else new
                assert ours == tokenizer.decode(new, skip_special_tokens=True) and ours


def test_sampled_answers_are_seeded_per_document_not_per_batch(model, tokenizer):
    sampling = {"temperature": 1.5}
    ref = generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8, batch_size=1, sampling=sampling, seed=3)
    assert generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8, batch_size=3,
                          sampling=sampling, seed=3) == ref  # fmt: skip
    other = generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8, sampling=sampling, seed=4)
    assert other != ref  # another seed, other draws
    greedy = generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8)
    assert generate_until(model, tokenizer, CONTEXTS, until=["\n"], max_gen_toks=8, sampling={"top_k": 1}) == greedy


def test_beam_search_is_transformers_generate_prompt_by_prompt(model, tokenizer):
    """num_beams: the best beam of generate on each prompt alone, whatever the batch (left padding masked); with a
    stop string, cut before it."""
    contexts = CONTEXTS + ["ab -> B\nba -> A\naab ->"]

    def alone(ctx, stop):
        ids = torch.tensor([tokenizer(ctx, add_special_tokens=False)["input_ids"]])
        out = model.generate(ids, num_beams=3, do_sample=False, max_new_tokens=6, pad_token_id=tokenizer.eos_token_id)
        return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)

    beams = None
    for batch_size in (1, 4):
        beams = generate_until(model, tokenizer, contexts, until=[], max_gen_toks=6, batch_size=batch_size, num_beams=3)
        assert beams == [alone(ctx, []) for ctx in contexts], batch_size
    assert beams != generate_until(model, tokenizer, contexts, until=[], max_gen_toks=6)  # not the greedy answers
    never = generate_until(model, tokenizer, contexts, until=["#"], max_gen_toks=6, batch_size=4, num_beams=3)
    assert "#" not in "".join(beams) and never == beams  # a stop string that never comes changes nothing
    cut = generate_until(model, tokenizer, contexts, until=[beams[0][2]], max_gen_toks=6, batch_size=4, num_beams=3)
    assert not any(beams[0][2] in text for text in cut)


def test_the_beam_stop_rule_is_lm_evals_first_rows_rule(tokenizer):
    """Per stop string: row r of the first B rows is done once its last len(stop tokens) + 2 new tokens hold the
    string, and stays done; generation stops when all B are; the rows after the first B (other beams) are not read."""
    from hf_replearn.evaluation.fewshot.generation import _FirstRowsStop

    enc = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    rule = _FirstRowsStop(tokenizer, "\n", prompt_width=2, rows=2)
    rows = lambda *texts: torch.tensor([[0, 0] + enc(t) for t in texts])  # noqa: E731  (2 prompt tokens each)
    assert not rule(rows("ab", "cd", "\n\n"), None)  # row 2 is a third beam: not read
    assert not rule(rows("a\n", "cd", "ef"), None) and rule.done == [True, False]
    assert rule(rows("abc", "cd\n", "efg"), None)  # row 0 stays done once it was
    late = _FirstRowsStop(tokenizer, "\n", prompt_width=2, rows=1)
    assert not late(rows("\nabcd"), None)  # the string left the lookback window (1 + 2 tokens) before it was read
