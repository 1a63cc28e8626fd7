import pytest
import torch

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.scoring import encode_choices, encode_pair, score_choices

CONTEXTS = ["a -> A\nb -> B\nc ->", "d ->", "ab -> B\nba -> A\nabc ->", "x"]
CHOICES = [" A", " B", " AB!"]


def _requests(tokenizer):
    reqs = []
    for ctx in CONTEXTS:
        pairs = [encode_pair(tokenizer, ctx, c) for c in CHOICES]
        reqs.append((pairs[0][0], [cont for _, cont in pairs]))
    return reqs


def _by_hand(model, ctx, cont):
    """Sum of log p(token | everything before it) from one unpadded forward of context + continuation."""
    ids = torch.tensor([ctx + cont])
    logprobs = torch.log_softmax(model(ids).logits[0].double(), dim=-1)  # (T, V)
    return sum(logprobs[len(ctx) - 1 + t, tok].item() for t, tok in enumerate(cont))


def test_encode_pair_shares_context_and_moves_trailing_space(tokenizer):
    ctx, cont = encode_pair(tokenizer, "q -> ", "A")
    assert tokenizer.decode(ctx) == "q ->" and tokenizer.decode(cont) == " A"
    ctx, cont = encode_pair(tokenizer, "", "A")  # empty context: BOS stands in, like lm-eval
    assert ctx == [tokenizer.bos_token_id] and tokenizer.decode(cont) == "A"


def test_loglikelihood_equals_hand_computed(model, tokenizer):
    reqs = _requests(tokenizer)
    scores = score_choices(model, reqs, batch_size=4)
    for (ctx, conts), row in zip(reqs, scores):
        for cont, (ll, _) in zip(conts, row):
            assert ll == pytest.approx(_by_hand(model, ctx, cont), abs=1e-4)
    # a one-token continuation by hand: log_softmax of the last context position, at the token
    ctx, conts = reqs[1]
    logits = model(torch.tensor([ctx])).logits[0, -1]
    expected = torch.log_softmax(logits, -1)[conts[0][0]].item()
    assert len(conts[0]) == 2  # " A" is two characters: score its first token alone
    first = score_choices(model, [(ctx, [conts[0][:1]])])[0][0][0]
    assert first == pytest.approx(expected, abs=1e-5)


def test_shared_prefix_equals_one_sequence_per_choice(model, tokenizer):
    reqs = _requests(tokenizer)
    shared = score_choices(model, reqs, batch_size=3)
    full = score_choices(model, reqs, batch_size=3, shared_prefix=False)
    for s_row, f_row in zip(shared, full):
        for (s, sg), (f, fg) in zip(s_row, f_row):
            assert s == pytest.approx(f, abs=1e-5) and sg == fg


def test_every_level_of_shared_tokens_equals_the_full_sequence(model, tokenizer):
    """Demonstrations shared by the whole batch (fed once), choices sharing leading tokens (fed once per
    document) and multi-token tails (fed per choice): each log-likelihood equals one unpadded pass's."""
    shots = "ab -> B\nba -> A\naab -> B\nbba -> A\nabab -> B\n"
    choices = [" A", " B", " AB!", " ABC"]  # " A..." share their first two tokens
    reqs = [encode_choices(tokenizer, shots + q, choices) for q in ("a ->", "bab ->", "b ->", "abba ->")]
    for batch_size in (1, 4):
        for (ctx, conts), row in zip(reqs, score_choices(model, reqs, batch_size=batch_size)):
            for cont, (ll, _) in zip(conts, row):
                assert ll == pytest.approx(_by_hand(model, ctx, cont), abs=1e-5)


def test_one_token_choices_after_a_shared_delimiter(model, tokenizer):
    """" A" / " B" in a character vocabulary: the space is shared, so one pass per batch scores them."""
    reqs = [encode_choices(tokenizer, q, [" A", " B", " C"]) for q in ("a ->", "bb ->")]
    for (ctx, conts), row in zip(reqs, score_choices(model, reqs)):
        for cont, (ll, _) in zip(conts, row):
            assert ll == pytest.approx(_by_hand(model, ctx, cont), abs=1e-5)


def test_encode_choices_equals_encode_pair_per_choice(tokenizer):
    for context in ("q -> ", "", "ab\n"):
        ctx, conts = encode_choices(tokenizer, context, CHOICES)
        assert [(ctx, c) for c in conts] == [encode_pair(tokenizer, context, c) for c in CHOICES]


def test_is_greedy_matches_argmax(model, tokenizer):
    ctx = encode_pair(tokenizer, "a -> A\nb ->", " A")[0]
    greedy_tok = model(torch.tensor([ctx])).logits[0, -1].argmax().item()
    other = (greedy_tok + 1) % len(tokenizer)
    (g, ng), = score_choices(model, [(ctx, [[greedy_tok], [other]])])
    assert g[1] is True and ng[1] is False


def test_scores_do_not_depend_on_batch_size(model, tokenizer):
    reqs = _requests(tokenizer)
    ref = score_choices(model, reqs, batch_size=1)
    for bs in (2, 3, 16):
        got = score_choices(model, reqs, batch_size=bs)
        for r_row, g_row in zip(ref, got):
            for (r, rg), (g, gg) in zip(r_row, g_row):
                assert g == pytest.approx(r, abs=1e-5) and rg == gg


def test_long_prompt_is_an_error_or_truncated_from_the_left(model, tokenizer):
    n_pos = model.config.n_positions
    ctx = [5] * (n_pos + 10)
    with pytest.raises(UserError, match="longer than the model's context of 128"):
        score_choices(model, [(ctx, [[6, 7]])])
    with pytest.warns(UserWarning, match="truncated from the left by 12 tokens"):
        (got,), = score_choices(model, [(ctx, [[6, 7]])], truncation="left")
    assert got[0] == pytest.approx(_by_hand(model, ctx[12:], [6, 7]), abs=1e-4)


def test_empty_choice_list_is_an_error(model):
    with pytest.raises(UserError, match="empty choice list"):
        score_choices(model, [([5, 6], [])], names=["tiny.yaml: test document 3"])
