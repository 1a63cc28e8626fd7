"""A character-level tokenizer built locally with the `tokenizers` library (no download).

One token per character of ``alphabet`` plus five specials (``<s>``/``</s>`` double as CLS/SEP for masked LMs). Used by the in-context pretraining recipe
(whose synthetic sequences are short strings of symbols) and by tests that need a real
``PreTrainedTokenizerFast`` without a hub.
"""

from __future__ import annotations

import string

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<mask>"]
DEFAULT_ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n"


def build_char_tokenizer(alphabet: str = DEFAULT_ALPHABET):
    """A ``PreTrainedTokenizerFast`` whose vocabulary is ``SPECIALS`` then each character of ``alphabet``."""
    from transformers import PreTrainedTokenizerFast

    chars = list(dict.fromkeys(alphabet))  # dedupe, keep order: ids are stable for a given alphabet
    vocab = {tok: i for i, tok in enumerate(SPECIALS + chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    # every character is its own pre-token; Fuse joins them back without spaces when decoding
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        mask_token="<mask>", cls_token="<s>", sep_token="</s>",
    )
