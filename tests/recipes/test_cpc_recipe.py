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


def test_cpc_on_a_users_audiofolder(tmp_path):
    """data.name=<an audiofolder>: CPC trains on the clips; the class folders are the speaker probe's labels, the
    supervised baseline trains on them alone, and with no phone labels there is no phone column."""
    import json

    import numpy as np
    from scipy.io import wavfile

    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    for label, freq in (("high", 2000), ("low", 300)):
        (tmp_path / "tones" / label).mkdir(parents=True)
        for i in range(8):
            wav = np.sin(2 * np.pi * freq * t) + 0.3 * rng.normal(size=t.size)
            wavfile.write(tmp_path / "tones" / label / f"{i}.wav", 16000, (wav / 2 * 32767).astype(np.int16))
    out = tmp_path / "run"
    code = main(["train", str(RECIPES / "cpc_speech.yaml"), f"output_dir={out}", "max_steps=2",
                 f"data.name={tmp_path / 'tones'}", *tiny(tmp_path)])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    for features in ("cpc", "mfcc", "random_init", "supervised"):
        assert 0 <= results[f"linear_probe/{features}/speaker"] <= 1 and f"linear_probe/{features}/phone" not in results
    card = (out / "README.md").read_text()
    assert "## Class probes (linear, frozen features; the speaker column is each clip's class folder)" in card
    assert "| features | speaker |" in card and "| phone" not in card
