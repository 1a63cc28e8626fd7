"""Kill-and-resume: a run SIGKILLed mid-training (here: while writing a checkpoint) and resumed with
``resume_from_checkpoint`` ends with the same metrics and weights as an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers.trainer_utils import get_last_checkpoint

from resume_job import run

JOB = Path(__file__).with_name("resume_job.py")


@pytest.fixture
def one_thread():
    # The killed part runs in a subprocess with one thread; the same here keeps float sums identical.
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def test_sigkill_mid_save_keeps_the_previous_checkpoint_and_resume_matches(tmp_path, one_thread):
    ref_metrics, ref_weights = run(tmp_path / "uninterrupted")

    out = tmp_path / "killed"
    proc = subprocess.run([sys.executable, str(JOB), str(out), "--kill-in-save", "20"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    # checkpoint-20 was half written when the process died: it sits in .staging, never as checkpoint-20.
    assert sorted(p.name for p in out.iterdir()) == [".staging", "checkpoint-10"]
    assert not (out / ".staging" / "checkpoint-20" / "optimizer.pt").exists()
    assert get_last_checkpoint(str(out)) == str(out / "checkpoint-10")

    metrics, weights = run(out, resume=True)
    assert metrics["eval_loss"] == ref_metrics["eval_loss"]
    assert metrics["epoch"] == ref_metrics["epoch"] == 3.75
    assert weights.keys() == ref_weights.keys()
    assert all(torch.equal(weights[k], ref_weights[k]) for k in weights)
    # The staging folder is gone and save_total_limit=2 rotated checkpoint-10 out.
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-20", "checkpoint-30"]
    assert {p.name for p in (out / "checkpoint-30").iterdir()} >= {
        "model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"}
