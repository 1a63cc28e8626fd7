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
    """Sum of log p(token | everything before it) from one unpadded forward of context + continuation (its last
    token only predicted, never fed)."""
    ids = torch.tensor([ctx + cont[:-1]])
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
    # lm-eval's limit: context + continuation - 1 tokens are fed (the last one is only predicted), at most n_pos
    with pytest.warns(UserWarning, match="truncated from the left by 11 tokens"):
        (got,), = score_choices(model, [(ctx, [[6, 7]])], truncation="left")
    assert got[0] == pytest.approx(_by_hand(model, ctx[11:], [6, 7]), abs=1e-4)
    (full,), = score_choices(model, [(ctx[11:], [[6, 7]])])  # n_pos + 1 tokens: fits as it is
    assert full[0] == got[0]


def test_empty_choice_list_is_an_error(model):
    with pytest.raises(UserError, match="tiny.yaml: test document 3: no choices"):
        score_choices(model, [([5, 6], [])], names=["tiny.yaml: test document 3"])
    with pytest.raises(UserError, match="document 0: a choice that adds no token to the context .* merges into the "
                                        "context's last token"):  # fmt: skip
        score_choices(model, [([5, 6], [[7], []])])


@pytest.mark.parametrize("n, max_len", [(1, 4), (4, 4), (5, 4), (13, 4), (300, 128)])
def test_rolling_windows_predict_every_token_once_within_the_context(n, max_len):
    """lm-eval's loglikelihood_rolling windows: token i is predicted once, from the prefix token then up to
    max_len earlier tokens; no window feeds more than max_len tokens."""
    from hf_replearn.evaluation.fewshot.scoring import rolling_windows

    tokens = list(range(100, 100 + n))
    windows = rolling_windows(tokens, prefix=7, max_len=max_len)
    assert [t for _, cont in windows for t in cont] == tokens
    assert windows[0][0] == [7] and windows[0][1] == tokens[:max_len]
    done = len(windows[0][1])
    for ctx, cont in windows[1:]:
        assert len(ctx) + len(cont) - 1 == max_len  # a full window: every position used
        assert ctx == tokens[done - len(ctx) : done] and cont == tokens[done : done + len(cont)]
        done += len(cont)


def test_rolling_log_likelihood_of_a_long_text_sums_its_windows(model, tokenizer, tmp_path, write_task):
    """output_type loglikelihood_rolling (lm-eval's wikitext): the text's log-likelihood over windows of the model's
    128 positions, word and byte perplexities and bits per byte from lm-eval's counts."""
    import math

    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items
    from hf_replearn.evaluation.fewshot.task import load_task

    path = write_task(tmp_path, n_test=3, output_type="loglikelihood_rolling", doc_to_choice=None, doc_to_text="",
                      doc_to_target="{{(input + ' word ') * 40}}", metric_list=[])  # fmt: skip
    results, samples = evaluate_items(model, tokenizer, load_task(path), k=0, seed=0, batch_size=2)
    total_ll, words, size = 0.0, 0, 0
    for s in samples:
        (text,) = s["arguments"][0]
        tokens = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert len(tokens) > 128  # several windows
        by_hand = _by_hand(model, [tokenizer.bos_token_id], tokens[:128])
        for start in range(128, len(tokens), 128):  # each next window: the 128 tokens before it as context
            cont = tokens[start : start + 128]
            by_hand += _by_hand(model, tokens[start + len(cont) - 129 : start], cont)
        assert s["filtered_resps"] == [pytest.approx(by_hand, abs=1e-3)]
        total_ll, words, size = total_ll + by_hand, words + len(text.split()) + 1, size + len(text.encode())
    assert results["word_perplexity,none"] == pytest.approx(math.exp(-total_ll / words), rel=1e-4)
    assert results["byte_perplexity,none"] == pytest.approx(math.exp(-total_ll / size), rel=1e-4)
    assert results["bits_per_byte,none"] == pytest.approx(-total_ll / size / math.log(2), rel=1e-4)
