"""Tokenizer training: each kind's special tokens and template, and the save/load round trip."""

import pytest

from hf_replearn.data.tokenizer_training import load_tokenizer, train_tokenizer
from hf_replearn.errors import UserError

TEXTS = ["the quick brown fox jumps over the lazy dog", "a quick brown dog", "the fox and the dog"] * 20


@pytest.mark.parametrize(
    "kind, first, last, mask",
    [("wordpiece", "[CLS]", "[SEP]", "[MASK]"), ("bpe-roberta", "<s>", "</s>", "<mask>"),
     ("bpe-gpt2", "the", "<|endoftext|>", None)],
)
def test_kinds_round_trip(tmp_path, kind, first, last, mask):
    tok = train_tokenizer(TEXTS, kind=kind, vocab_size=300, min_frequency=1)
    ids = tok("the quick fox")["input_ids"]
    tokens = tok.convert_ids_to_tokens(ids)
    assert tokens[0].lstrip("Ġ") == first and tokens[-1] == last
    assert tok.mask_token == mask and tok.pad_token is not None
    assert tok.decode(ids, skip_special_tokens=True).strip() == "the quick fox"
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    assert again("the quick fox")["input_ids"] == ids and again.mask_token == mask


def test_bad_kind_and_missing_path(tmp_path):
    with pytest.raises(UserError, match="not one of wordpiece"):
        train_tokenizer(TEXTS, kind="sentencepiece")
    with pytest.raises(UserError, match="not a folder"):
        load_tokenizer(tmp_path / "none")
