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
