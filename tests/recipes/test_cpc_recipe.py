"""recipes/cpc_speech.yaml: bad input (its smoke run: tests/recipes/test_all_recipes.py)."""

import ctypes.util
from pathlib import Path

import pytest

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
pytestmark = pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="apt-get install espeak-ng")


def tiny(tmp_path):
    return [f"data.cache_dir={tmp_path / 'cache'}", "data.num_speakers=3", "data.train_per_speaker=3",
            "data.test_per_speaker=2", "data.crop_samples=4000", "model.hidden_size=16", "model.context_size=16",
            "model.num_prediction_steps=3", "model.num_negatives=4", "per_device_train_batch_size=3",
            "logging_steps=1", "save_steps=100", "learning_rate=0.003", "evaluation.max_iter=50",
            "evaluation.supervised_steps=3"]  # fmt: skip


def test_bad_negative_sampling_exits_2(tmp_path, capsys):
    code = main(["train", str(RECIPES / "cpc_speech.yaml"), f"output_dir={tmp_path / 'bad'}", "max_steps=1",
                 "model.negative_sampling=everywhere", *tiny(tmp_path)])  # fmt: skip
    assert code == 2
    assert "negative_sampling must be one of" in capsys.readouterr().err
