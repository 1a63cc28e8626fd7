import json
import re
from pathlib import Path

import numpy as np

from hf_replearn.data.char_tokenizer import build_char_tokenizer
from hf_replearn.tasks.clm_incontext import (
    EVAL_TASKS, InContextDataConfig, build_dataset, demonstration_sequence, write_eval_task_data,
)

REPO = Path(__file__).resolve().parents[2]


def test_each_sequence_has_one_consistent_mapping_that_changes_between_sequences():
    rng = np.random.default_rng(0)
    cfg = InContextDataConfig(n_demos=30, n_inputs=[4, 6], n_labels=[2, 3], gaps=[0, 2])
    mappings, gap_lengths = [], set()
    for _ in range(20):
        text = demonstration_sequence(rng, cfg)
        pairs = re.findall(r"[a-z][A-Z]", text)
        assert len(pairs) == 30 and re.fullmatch(r"[a-z][A-Z](\n{0,2}[a-z][A-Z]){29}", text)
        gap_lengths |= {len(g) for g in re.findall(r"(?<=[A-Z])\n*(?=[a-z])", text)}
        mapping = {}
        for x, y in pairs:
            assert mapping.setdefault(x, y) == y  # an input keeps its label within a sequence
        assert 2 <= len(set(mapping.values())) <= 3 and len(mapping) <= 6
        mappings.append(mapping)
    assert len({tuple(sorted(m.items())) for m in mappings}) == 20
    assert gap_lengths == {0, 1, 2}  # random gaps: no fixed offset between demonstrations


def test_dataset_trains_on_label_positions_only_and_pads_to_one_length():
    tokenizer = build_char_tokenizer()
    cfg = InContextDataConfig(n_sequences=8, n_demos=5, n_inputs=[2, 3], n_labels=[2, 2], gaps=[0, 2])
    ds = build_dataset(tokenizer, cfg, seed=0)
    assert len({len(r) for r in ds["input_ids"]}) == 1
    for ids, mask, labels in zip(ds["input_ids"], ds["attention_mask"], ds["labels"]):
        text = tokenizer.decode([t for t, m in zip(ids, mask) if m])
        assert sum(mask) == len(text) and sum(lab != -100 for lab in labels) == 5
        assert [tokenizer.convert_ids_to_tokens(lab) for lab in labels if lab != -100] == re.findall("[A-Z]", text)


def test_committed_eval_data_is_what_the_generator_makes(tmp_path):
    write_eval_task_data(tmp_path)
    for name, (_, inputs, labels) in EVAL_TASKS.items():
        for split in ("train", "test"):
            committed = REPO / "recipes" / "fewshot" / "data" / name / f"{split}.jsonl"
            assert committed.read_text() == (tmp_path / name / f"{split}.jsonl").read_text()
        rows = [json.loads(line) for line in committed.read_text().splitlines()]
        assert {r["input"] for r in rows} == set(inputs) and {r["label"] for r in rows} == set(labels)
