"""Tokenizer training: each kind's special tokens and template, and the save/load round trip."""

import pytest

from hf_replearn.data.tokenizer_training import load_tokenizer, train_tokenizer
from hf_replearn.errors import UserError

TEXTS = ["the quick brown fox jumps over the lazy dog", "a quick brown dog", "the fox and the dog"] * 20


@pytest.mark.parametrize(
    "kind, first, last, mask",
    [("wordpiece", "[CLS]", "[SEP]", "[MASK]"), ("bpe-roberta", "<s>", "</s>", "<mask>"),
     ("bpe-gpt2", "the", "Ġfox", None)],  # as GPT-2's own: nothing added to a text
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


def test_gpt2_kind_adds_nothing_to_a_prompt_and_packing_still_closes_each_text():
    """A prompt encodes to itself (what a text-generation pipeline or lm-eval feeds the model: a trailing
    <|endoftext|> would make every prompt the end of a document); a pair is joined by <|endoftext|>; packed
    causal-LM training still sees each text closed by it."""
    import datasets

    from hf_replearn.data.packing import build_lm_blocks

    tok = train_tokenizer(TEXTS, kind="bpe-gpt2", vocab_size=300, min_frequency=1)
    eos = tok.eos_token_id
    assert tok("the quick fox")["input_ids"] == tok("the quick fox", add_special_tokens=False)["input_ids"]
    a, b = (tok(t, add_special_tokens=False)["input_ids"] for t in ("the fox", "a dog"))
    assert tok("the fox", "a dog")["input_ids"] == a + [eos] + b
    texts = datasets.DatasetDict(train=datasets.Dataset.from_dict({"text": ["the fox", "a dog"] * 8}))
    blocks = build_lm_blocks(texts, tok, block_size=len(a) + len(b) + 2, causal=True)
    assert blocks["train"][0]["input_ids"] == a + [eos] + b + [eos]


@pytest.mark.parametrize("kind", ["wordpiece", "bpe-roberta", "bpe-gpt2"])
def test_one_corpus_trains_one_vocabulary(kind):
    """The same texts give the same tokenizer every time. WordPiece did not: `tokenizers` numbered its "##" pieces
    in hash order (huggingface/tokenizers#1794), and on this corpus each of 30 trainings in a row differed."""
    texts = ["Wel come to the Tok en izers libr ary.", "the quick brown fox jumps over the lazy dog",
             "tokenizers are fun", "libraries everywhere", "welcome welcome"]  # fmt: skip
    vocabularies = {tuple(sorted(train_tokenizer(iter(texts), kind=kind, vocab_size=60 if kind == "wordpiece" else 300,
                                                 min_frequency=1).get_vocab().items())) for _ in range(8)}  # fmt: skip
    assert len(vocabularies) == 1


def test_wordpiece_continuation_pieces_are_plain_vocabulary():
    tok = train_tokenizer(TEXTS, kind="wordpiece", vocab_size=60, min_frequency=1)
    assert sorted(tok.all_special_tokens) == ["[CLS]", "[MASK]", "[PAD]", "[SEP]", "[UNK]"]
    assert {"##o", "##g"} <= set(tok.get_vocab())
    ids = tok("the lazy dogs")["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "the lazy dogs"
    assert tok.tokenize("##o") == ["[UNK]", "[UNK]", "o"]  # the text "##o" is not the piece "##o"
