"""Smoke test: recipes/cpc_speech.yaml runs for a few steps on CPU through the real CLI."""

import ctypes.util
import json
from pathlib import Path

import pytest

from hf_replearn.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
pytestmark = pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="apt-get install espeak-ng")


@pytest.fixture
def one_thread():
    """Tiny convolutions: one torch thread avoids spin-waiting on a busy 2-core machine (25 s -> 2 s measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(tmp_path):
    return [f"data.cache_dir={tmp_path / 'cache'}", "data.num_speakers=3", "data.train_per_speaker=3",
            "data.test_per_speaker=2", "data.crop_samples=4000", "model.hidden_size=16", "model.context_size=16",
            "model.num_prediction_steps=3", "model.num_negatives=4", "per_device_train_batch_size=3",
            "logging_steps=1", "save_steps=100", "learning_rate=0.003", "evaluation.max_iter=50",
            "evaluation.supervised_steps=3"]  # fmt: skip


def test_cpc_speech_runs_and_writes_phone_and_speaker_results(tmp_path, capsys, one_thread):
    out = tmp_path / "run"
    code = main(["train", str(RECIPES / "cpc_speech.yaml"), f"output_dir={out}", "max_steps=4", "dataset_limit=6",
                 *tiny(tmp_path)])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 4
    for features in ("cpc", "mfcc", "random_init", "supervised"):
        for target in ("phone", "speaker"):
            assert 0 <= results[f"linear_probe/{features}/{target}"] <= 1
    assert results["linear_probe/mfcc/phone"] > 0.1  # 50+ phone classes: MFCC frames are far above chance
    assert (out / "model.safetensors").is_file() and (out / "tsne_speakers.png").stat().st_size > 1000
    assert "| features | phone | speaker |" in capsys.readouterr().out
    assert results["eval/supervised_train_s"] > 0
    card = (out / "README.md").read_text()
    assert "| cpc |" in card and "| supervised |" in card


def test_bad_negative_sampling_exits_2(tmp_path, capsys):
    code = main(["train", str(RECIPES / "cpc_speech.yaml"), f"output_dir={tmp_path / 'bad'}", "max_steps=1",
                 "model.negative_sampling=everywhere", *tiny(tmp_path)])  # fmt: skip
    assert code == 2
    assert "negative_sampling must be one of" in capsys.readouterr().err
