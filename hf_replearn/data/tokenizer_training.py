"""Train a subword tokenizer on a corpus with the ``tokenizers`` library, or load an existing one.

Three kinds, each matching the model family that introduced it:

- ``wordpiece`` (BERT, Devlin et al. 2019): BERT normalizer (optionally lower-casing), whitespace and
  punctuation pre-tokenizer, ``##`` continuation pieces; ``[CLS] text [SEP]``; specials ``[PAD] [UNK]
  [CLS] [SEP] [MASK]``.
- ``bpe-roberta`` (RoBERTa, Liu et al. 2019): byte-level BPE (GPT-2's byte alphabet, so no unknown
  token is ever needed); ``<s> text </s>``; specials ``<s> <pad> </s> <unk> <mask>``.
- ``bpe-gpt2`` (GPT-2, Radford et al. 2019): the same byte-level BPE; like GPT-2's own tokenizer it adds nothing
  to a text (``tokenizer(prompt)`` is the prompt: generation pipelines and lm-eval read it so), causal-LM packing
  closes each text with ``<|endoftext|>`` (``packing.needs_eos``), which also separates the two texts of a pair;
  plus a ``<|pad|>`` that packing never uses.

The result is a ``transformers.PreTrainedTokenizerFast`` that ``save_pretrained`` writes beside the model,
so ``AutoTokenizer.from_pretrained(output_dir)`` loads it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from hf_replearn.errors import UserError

TOKENIZER_KINDS = ("wordpiece", "bpe-roberta", "bpe-gpt2")


def _wordpiece(vocab_size: int, min_frequency: int, lowercase: bool, texts: Iterable[str]):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase or None)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    texts = list(texts)
    pieces = _continuation_characters(tok, texts)
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials + pieces)

    def finish(tok):
        tok = _unmark_special(tok, set(pieces))
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )
        return tok, dict(unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")

    return tok, trainer, texts, finish


# Why the WordPiece trainer is handed every "##c" piece: `tokenizers` numbers the continuation pieces it creates in
# the iteration order of a hash map, and breaks ties between equally frequent merges by those numbers, so two
# trainings on one corpus give different vocabularies (huggingface/tokenizers#1794; 30 of 30 differed on a small
# corpus). Named up front (as special tokens, the one way in) they are numbered in sorted order; _unmark_special
# then makes them ordinary vocabulary entries again.


def _continuation_characters(tok, texts: list[str]) -> list[str]:
    """``##c`` for every character c of ``texts`` (normalised as ``tok`` does) that ``tok``'s pre-tokenizer keeps
    inside a word (not a space or punctuation), sorted. A character only ever seen at a word's start would get an
    unused piece; in practice every letter and digit appears inside some word."""
    raw: set[str] = set()
    for text in texts:
        raw.update(text)
    # per distinct character (BERT's normalizer maps each alone): normalising every text cost as much as the training
    chars = set().union(*(tok.normalizer.normalize_str(c) for c in raw))

    def inside_a_word(c: str) -> bool:
        return len(tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(f"a{c}a"))) == 1

    return [f"##{c}" for c in sorted(chars) if inside_a_word(c)]


def _unmark_special(tok, names: set[str]):
    """``tok`` with ``names`` no longer added (special) tokens, kept as plain entries of its model's vocabulary."""
    import json

    from tokenizers import Tokenizer

    state = json.loads(tok.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] not in names]
    return Tokenizer.from_str(json.dumps(state))


def _byte_bpe(vocab_size: int, min_frequency: int, specials: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: no text is ever unknown
    )
    return tok, trainer


def _bpe_roberta(vocab_size: int, min_frequency: int, lowercase: bool, texts: Iterable[str]):
    from tokenizers import processors

    tok, trainer = _byte_bpe(vocab_size, min_frequency, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])

    def finish(tok):
        tok.post_processor = processors.RobertaProcessing(
            ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False
        )
        return tok, dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", cls_token="<s>",
                         sep_token="</s>", mask_token="<mask>")

    return tok, trainer, texts, finish


def _bpe_gpt2(vocab_size: int, min_frequency: int, lowercase: bool, texts: Iterable[str]):
    from tokenizers import processors

    tok, trainer = _byte_bpe(vocab_size, min_frequency, ["<|endoftext|>", "<|pad|>"])

    def finish(tok):
        eos = tok.token_to_id("<|endoftext|>")
        tok.post_processor = processors.TemplateProcessing(
            single="$A", pair="$A <|endoftext|> $B:1", special_tokens=[("<|endoftext|>", eos)],
        )
        return tok, dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>",
                         pad_token="<|pad|>")

    return tok, trainer, texts, finish


_BUILDERS = {"wordpiece": _wordpiece, "bpe-roberta": _bpe_roberta, "bpe-gpt2": _bpe_gpt2}


def train_tokenizer(
    texts: Iterable[str],
    kind: str = "wordpiece",
    vocab_size: int = 8000,
    min_frequency: int = 2,
    lowercase: bool = True,
    model_max_length: int = 512,
):
    """Train a ``kind`` tokenizer on ``texts`` and wrap it as a ``PreTrainedTokenizerFast``.

    ``lowercase`` applies to ``wordpiece`` only (byte-level BPE keeps case, as RoBERTa and GPT-2 do).
    """
    from transformers import PreTrainedTokenizerFast

    if kind not in _BUILDERS:
        raise UserError(f"tokenizer.kind `{kind}` is not one of {', '.join(TOKENIZER_KINDS)}")
    if vocab_size < 300 and kind != "wordpiece":
        raise UserError(f"tokenizer.vocab_size={vocab_size} is below the 256 bytes + specials of byte-level BPE; use >= 300")
    tok, trainer, texts, finish = _BUILDERS[kind](vocab_size, min_frequency, lowercase, texts)
    tok.train_from_iterator(texts, trainer=trainer)
    tok, specials = finish(tok)
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=model_max_length, **specials)


def check_vocabulary(tokenizer, source: str | Path, where: str) -> None:
    """A UserError for what ``AutoTokenizer.from_pretrained`` returns on a folder without tokenizer files: a tokenizer
    of the model's class holding only its special tokens (a BERT folder without vocab.txt gives a BertTokenizer of 5
    tokens), which would turn every text into the same ids and every feature into a constant."""
    if len(tokenizer) <= len(set(tokenizer.all_special_tokens)):
        raise UserError(f"{where}: {source} holds no tokenizer (transformers built an empty {type(tokenizer).__name__} "
                        f"of {len(tokenizer)} special token(s)); save the model's tokenizer into that folder "
                        "(tokenizer.save_pretrained(folder)), or give a model that ships one")


def load_tokenizer(path: str | Path):
    """An existing tokenizer from a local folder (``save_pretrained`` output); never reaches the hub."""
    from transformers import AutoTokenizer

    path = Path(path)
    if not path.is_dir():
        raise UserError(
            f"tokenizer.path {path} is not a folder; give a folder written by save_pretrained (holding "
            "tokenizer.json or vocab files), or leave tokenizer.path empty to train one on the corpus"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as err:
        raise UserError(f"could not load a tokenizer from {path} ({type(err).__name__}: {err})") from None
    check_vocabulary(tokenizer, path, "tokenizer.path")
    return tokenizer
