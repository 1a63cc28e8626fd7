"""Packing: every token lands in exactly one block, blocks are full, specials travel with their tokens."""

import numpy as np
import pytest
from datasets import Dataset

from hf_replearn.data.packing import build_lm_blocks, pack_dataset, pack_sequences, steps_for_token_budget
from hf_replearn.errors import UserError


def _tokens(lengths, seed=0):
    rng = np.random.default_rng(seed)
    ids = [rng.integers(5, 100, n).tolist() for n in lengths]
    return Dataset.from_dict({"input_ids": ids, "special_tokens_mask": [[1] + [0] * (n - 1) for n in lengths]}), ids


@pytest.mark.parametrize("keep_remainder", [True, False])
def test_every_token_exactly_once(keep_remainder):
    ds, ids = _tokens([7, 1, 30, 12, 5, 9])  # 64 tokens
    blocks = pack_dataset(ds, 10, keep_remainder=keep_remainder)
    flat = sum(ids, [])
    packed = sum(blocks["input_ids"], [])
    assert [len(b) for b in blocks["input_ids"]] == [10] * 6 + ([4] if keep_remainder else [])
    assert packed == (flat if keep_remainder else flat[:60])
    assert sum(blocks["special_tokens_mask"], []) == sum(ds["special_tokens_mask"], [])[: len(packed)]


def test_streaming_packer_matches_arrow_packer():
    ds, ids = _tokens([3, 17, 4, 22, 1], seed=1)
    streamed = list(pack_sequences(({"input_ids": x} for x in ids), block_size=8))
    assert [b["input_ids"] for b in streamed] == pack_dataset(ds, 8)["input_ids"]


def test_offsets_are_packed_as_pairs():
    ds = Dataset.from_dict({"input_ids": [[1, 2, 3], [4, 5]], "offset_mapping": [[[0, 0], [0, 3], [4, 6]], [[0, 2], [0, 0]]]})
    blocks = pack_dataset(ds, 4, keep_remainder=True)
    assert blocks["offset_mapping"][0] == [[0, 0], [0, 3], [4, 6], [0, 2]]


class _Tok:
    """A character tokenizer with [CLS]/[SEP]: enough for build_lm_blocks' checks."""

    eos_token_id, all_special_ids = None, [0, 1]

    def __call__(self, texts, **kw):
        ids = [[0] + [ord(c) for c in t] + [1] for t in texts] if isinstance(texts, list) else [0, 1]
        if not isinstance(texts, list):
            return {"input_ids": ids}
        return {"input_ids": ids, "special_tokens_mask": [[1] + [0] * (len(i) - 2) + [1] for i in ids]}


def test_corpus_smaller_than_one_block():
    from datasets import DatasetDict

    texts = DatasetDict({"train": Dataset.from_dict({"text": ["tiny"]}), "validation": Dataset.from_dict({"text": ["x"]})})
    with pytest.raises(UserError, match="6 tokens, fewer than one block.*block_size=64"):
        build_lm_blocks(texts, _Tok(), 64, source="tiny.txt")
    assert len(build_lm_blocks(texts, _Tok(), 4)["train"]) == 2


def test_steps_for_token_budget():
    assert steps_for_token_budget(1_000_000, block_size=128, batch_size=32) == 245  # ceil(1e6 / 4096)
