import json
from pathlib import Path

import numpy as np

from hf_replearn.tasks.clm_incontext import EVAL_TASKS, InContextDataConfig, demonstration_sequence, write_eval_task_data

REPO = Path(__file__).resolve().parents[2]


def test_each_sequence_has_one_consistent_mapping_that_changes_between_sequences():
    rng = np.random.default_rng(0)
    cfg = InContextDataConfig(n_demos=30, n_inputs=[4, 6], n_labels=[2, 3])
    mappings = []
    for _ in range(20):
        lines = demonstration_sequence(rng, cfg).split("\n")
        assert len(lines) == 30 and all(len(line) == 2 for line in lines)
        mapping = {}
        for x, y in lines:
            assert mapping.setdefault(x, y) == y  # an input keeps its label within a sequence
        assert 2 <= len(set(mapping.values())) <= 3 and len(mapping) <= 6
        mappings.append(mapping)
    assert len({tuple(sorted(m.items())) for m in mappings}) == 20


def test_committed_eval_data_is_what_the_generator_makes(tmp_path):
    write_eval_task_data(tmp_path)
    for name, (_, inputs, labels) in EVAL_TASKS.items():
        for split in ("train", "test"):
            committed = REPO / "recipes" / "fewshot" / "data" / name / f"{split}.jsonl"
            assert committed.read_text() == (tmp_path / name / f"{split}.jsonl").read_text()
        rows = [json.loads(line) for line in committed.read_text().splitlines()]
        assert {r["input"] for r in rows} == set(inputs) and {r["label"] for r in rows} == set(labels)
