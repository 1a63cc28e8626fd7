import torch

from hf_replearn.evaluation.fewshot.cached_forward import common_prefix_len, feed, pad_right, shared_prefix_len


def test_common_prefix_len():
    assert common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_len([[5, 1], [6, 1]]) == 0
    assert common_prefix_len([[7, 8]]) == 2


def test_shared_prefix_only_when_it_removes_half_the_tokens():
    shots = list(range(10, 40))  # 30 tokens every prompt shares
    prompts = [shots + [1, 2], shots + [3], shots + [4, 5, 6]]
    assert shared_prefix_len(prompts) == 30  # saves 2 x 30 of 96 tokens
    assert shared_prefix_len([[1, 2, 3, 4], [1, 5, 6, 7]]) == 0  # saves 1 of 8: not worth a pass
    assert shared_prefix_len([[1, 2, 3, 4, 5]] * 3) == 4  # every row keeps a token of its own
    assert shared_prefix_len([[1, 2, 3]]) == 0  # one row: nothing to share


def test_levels_give_the_logits_of_one_unpadded_pass(model):
    """Prefix (1 row) -> 3 right-padded rows -> 2 rows picked from them: each real position's logits as
    in one forward pass of its whole sequence."""
    prefix, mids, tails, rows = [5, 6, 7, 8], [[9, 10, 11], [12], [13, 14]], [[20, 21], [22]], [2, 0]
    level = feed(model, *pad_right([prefix], "cpu"))
    level = feed(model, *pad_right(mids, "cpu"), level, [0, 0, 0])
    mid_logits = level.logits
    level = feed(model, *pad_right(tails, "cpu"), level, rows)
    for m, mid in enumerate(mids):
        ref = model(torch.tensor([prefix + mid])).logits[0, len(prefix) :]
        torch.testing.assert_close(mid_logits[m, : len(mid)], ref, atol=1e-5, rtol=0)
    for m, (tail, r) in enumerate(zip(tails, rows)):
        ref = model(torch.tensor([prefix + mids[r] + tail])).logits[0, -len(tail) :]
        torch.testing.assert_close(level.logits[m, : len(tail)], ref, atol=1e-5, rtol=0)


def test_first_col_keeps_only_the_last_columns(model):
    level = feed(model, *pad_right([[5, 6, 7, 8], [9, 10]], "cpu"), first_col=2, use_cache=False)
    assert level.offset == 2 and level.logits.shape[1] == 2 and level.cache is None
    ref = model(torch.tensor([[5, 6, 7, 8]])).logits[0, 2:]
    assert torch.allclose(level.logits[0], ref, atol=1e-5)


def test_no_deprecated_cache_name_is_read(model, monkeypatch):
    """transformers 5 calls the cache `cache`; asking an output for `past_key_values` logs a deprecation that
    every `fewshot` run printed once."""
    import transformers.utils.generic as generic

    said = []
    monkeypatch.setattr(generic.logger, "warning_once", lambda msg, *a, **k: said.append(msg))
    with torch.inference_mode():
        level = feed(model, *pad_right([[5, 6, 7]], "cpu"))
        feed(model, *pad_right([[8], [9]], "cpu"), level, [0, 0], use_cache=False)
        feed(model, *pad_right([[8]], "cpu"), level, [0])
    assert said == []
