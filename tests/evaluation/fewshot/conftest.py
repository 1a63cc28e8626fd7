import json

import pytest
import torch
import yaml



@pytest.fixture(scope="session")
def tokenizer():
    from hf_replearn.data.char_tokenizer import build_char_tokenizer

    return build_char_tokenizer()


@pytest.fixture(scope="session")
def model(tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=2, n_head=2,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config).eval()


def _write_task(tmp_path, n_train=12, n_test=6, **overrides):
    """A tiny multiple-choice task: letter -> A/B, its data as JSON lines next to the YAML."""
    rows = [{"input": "abcdefgh"[i % 8], "label": "AB"[(i * 5) % 3 % 2]} for i in range(n_train + n_test)]
    for split, part in (("train", rows[:n_train]), ("test", rows[n_train:])):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    raw = {
        "task": "tiny",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"train": "train.jsonl", "test": "test.jsonl"}},
        "test_split": "test",
        "fewshot_split": "train",
        "fewshot_config": {"sampler": "per_document"},
        "output_type": "multiple_choice",
        "doc_to_text": "{{input}} ->",
        "doc_to_target": "label",
        "doc_to_choice": ["A", "B"],
        "fewshot_delimiter": "\n",
        "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}, {"metric": "acc_mutual_info"}],
    }
    raw.update(overrides)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def write_task():
    return _write_task
