"""Tokenize a text DatasetDict and pack it into fixed-length blocks for language-model pretraining.

Packing (as in BERT's and GPT-2's pretraining data, and transformers' ``run_mlm.py`` ``group_texts``):
each text is tokenized with the tokenizer's special tokens (``[CLS] ... [SEP]``, ``<s> ... </s>``, or
``... <|endoftext|>``), all texts of a split are concatenated, and the stream is cut into blocks of
``block_size`` tokens. No position is padding, so no compute goes to it, and every token of the split
lands in exactly one block. The short tail block is kept (``keep_remainder=True``) or dropped.

Blocks carry ``special_tokens_mask`` (so the masking collator never chooses a special token without
re-deriving it per batch) and, for whole-word masking, ``offset_mapping`` (the upstream collator finds
word starts from character offsets).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from hf_replearn.errors import UserError

PACKED_COLUMNS = ("input_ids", "special_tokens_mask", "offset_mapping")


def pack_sequences(
    examples: Iterable[dict[str, list]], block_size: int, keep_remainder: bool = True
) -> Iterator[dict[str, list]]:
    """Concatenate the examples' columns and yield blocks of ``block_size`` positions (a streaming packer).

    Every column of an example must have the same length (one entry per token).
    """
    if block_size < 1:
        raise UserError(f"data.block_size must be at least 1, got {block_size}")
    buffer: dict[str, list] = {}
    for example in examples:
        for key, values in example.items():
            buffer.setdefault(key, []).extend(values)
        first = next(iter(buffer.values()), [])
        while len(first) >= block_size:
            yield {key: values[:block_size] for key, values in buffer.items()}
            buffer = {key: values[block_size:] for key, values in buffer.items()}
            first = next(iter(buffer.values()))
    if keep_remainder and buffer and len(next(iter(buffer.values()))) > 0:
        yield buffer


def _flat(column) -> np.ndarray:
    """Arrow list column -> one flat numpy array of its tokens (no Python objects per token)."""
    import pyarrow as pa

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    flat = array.flatten()
    if pa.types.is_list(flat.type) or pa.types.is_large_list(flat.type):  # offset_mapping: list<list<int>>
        return flat.flatten().to_numpy(zero_copy_only=False).reshape(-1, 2)
    return flat.to_numpy(zero_copy_only=False)


def pack_dataset(dataset, block_size: int, keep_remainder: bool = True):
    """Pack a tokenized in-memory ``datasets.Dataset`` into a Dataset of blocks (vectorised with Arrow/numpy)."""
    import datasets

    columns = {name: _flat(dataset.data.column(name)) for name in dataset.column_names if name in PACKED_COLUMNS}
    total = len(columns["input_ids"])
    n_full = total // block_size
    out: dict[str, list] = {}
    for name, flat in columns.items():
        blocks = list(flat[: n_full * block_size].reshape(n_full, block_size, *flat.shape[1:]))
        if keep_remainder and total > n_full * block_size:
            blocks.append(flat[n_full * block_size :])
        out[name] = [b.tolist() for b in blocks]
    features = {
        "input_ids": datasets.Sequence(datasets.Value("int32")),
        "special_tokens_mask": datasets.Sequence(datasets.Value("int8")),
        "offset_mapping": datasets.Sequence(datasets.Sequence(datasets.Value("int32"), length=2)),
    }
    return datasets.Dataset.from_dict(out, features=datasets.Features({k: features[k] for k in out}))


def tokenize_dataset(dataset, tokenizer, with_offsets: bool = False, append_eos: bool = False):
    """Tokenize the ``text`` column with the tokenizer's special tokens; no truncation (packing cuts)."""

    def encode(batch):
        enc = tokenizer(
            batch["text"],
            add_special_tokens=True,
            truncation=False,
            return_attention_mask=False,
            return_special_tokens_mask=True,
            return_offsets_mapping=with_offsets,
            verbose=False,
        )
        out = {"input_ids": enc["input_ids"], "special_tokens_mask": enc["special_tokens_mask"]}
        if with_offsets:
            out["offset_mapping"] = enc["offset_mapping"]
        if append_eos:  # a causal LM tokenizer that adds nothing (GPT-2's): close each text with EOS
            for i in range(len(out["input_ids"])):
                out["input_ids"][i] = out["input_ids"][i] + [tokenizer.eos_token_id]
                out["special_tokens_mask"][i] = out["special_tokens_mask"][i] + [1]
                if with_offsets:
                    out["offset_mapping"][i] = out["offset_mapping"][i] + [(0, 0)]
        return out

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names, desc="Tokenizing")


def needs_eos(tokenizer) -> bool:
    """True when the tokenizer adds no special token of its own and has an EOS to separate texts."""
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return tokenizer.eos_token_id is not None and not any(i in tokenizer.all_special_ids for i in ids)


def build_lm_blocks(
    texts,
    tokenizer,
    block_size: int,
    whole_word_mask: bool = False,
    causal: bool = False,
    keep_remainder: bool = True,
    source: str = "corpus",
):
    """Text DatasetDict -> DatasetDict of packed blocks, with the bad-input checks of the recipes."""
    import datasets

    append_eos = causal and needs_eos(tokenizer)
    out = {}
    for split, ds in texts.items():
        tokens = tokenize_dataset(ds, tokenizer, with_offsets=whole_word_mask, append_eos=append_eos)
        n_tokens = sum(len(x) for x in tokens["input_ids"]) if len(tokens) else 0
        if split == "train" and n_tokens < block_size:
            raise UserError(
                f"{source}: the {split} split holds {n_tokens} tokens, fewer than one block "
                f"(data.block_size={block_size}); lower data.block_size or add text to the corpus"
            )
        if n_tokens == 0:
            raise UserError(f"{source}: the {split} split holds no tokens; add text or raise data.validation_fraction")
        # whole-word masking pads offset_mapping, which tokenizer.pad cannot do: drop the short tail there
        out[split] = pack_dataset(tokens, block_size, keep_remainder=keep_remainder and not whole_word_mask)
        if len(out[split]) == 0:  # a validation split shorter than one block with whole-word masking
            out[split] = pack_dataset(tokens, block_size, keep_remainder=True)
    return datasets.DatasetDict(out)


def stream_lm_blocks(stream, tokenizer, block_size: int, causal: bool = False):
    """A streaming text ``IterableDataset`` -> an ``IterableDataset`` of packed blocks (carry-over across texts)."""
    import datasets

    append_eos = causal and needs_eos(tokenizer)

    def blocks():
        def encoded():
            for row in stream:
                enc = tokenizer(row["text"], truncation=False, return_attention_mask=False,
                                return_special_tokens_mask=True, verbose=False)
                ids, special = list(enc["input_ids"]), list(enc["special_tokens_mask"])
                if append_eos:
                    ids, special = ids + [tokenizer.eos_token_id], special + [1]
                yield {"input_ids": ids, "special_tokens_mask": special}

        yield from pack_sequences(encoded(), block_size, keep_remainder=True)

    return datasets.IterableDataset.from_generator(blocks)


def steps_for_token_budget(tokens: int, block_size: int, batch_size: int, grad_accum: int = 1, world: int = 1) -> int:
    """Optimizer steps that consume ``tokens`` tokens: tokens / (block x batch x accumulation x processes)."""
    per_step = block_size * batch_size * grad_accum * world
    return max(1, -(-tokens // per_step))
