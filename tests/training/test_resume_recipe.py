"""Kill-and-resume with a real recipe: the quickstart (SimCLR) SIGKILLed at step 3 of 6 and resumed with
``resume_from_checkpoint=true`` ends with the weights and probe results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file
from transformers import Trainer, TrainerCallback

from hf_replearn.tasks import load_recipe, run_recipe

ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("kill_recipe_job.py")
RECIPE = ROOT / "recipes" / "quickstart.yaml"
TINY = ["max_steps=6", "save_steps=2", "dataset_limit=64", "per_device_train_batch_size=16", "logging_steps=1",
        "model.widths=[8,16]", "model.projection_dim=8", "evaluation.seeds=1", "evaluation.labels_per_class=[1]",
        "evaluation.baselines=[]", "evaluation.tsne=false", "disable_tqdm=true"]  # fmt: skip


class _Steps(TrainerCallback):
    def __init__(self, seen: list):
        self.seen = seen

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)


def test_quickstart_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    reference = run_recipe(load_recipe(RECIPE, [f"output_dir={tmp_path / 'whole'}", *TINY]))

    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(JOB), "3", str(RECIPE), f"output_dir={out}", *TINY],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["checkpoint-2"]  # no final save

    steps, init = [], Trainer.__init__

    def init_with_step_log(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.add_callback(_Steps(steps))

    monkeypatch.setattr(Trainer, "__init__", init_with_step_log)
    resumed = run_recipe(load_recipe(RECIPE, [f"output_dir={out}", *TINY, "resume_from_checkpoint=true"]))
    assert steps == [3, 4, 5, 6]  # continued from checkpoint-2, not trained again from the start
    assert resumed["train/steps"] == reference["train/steps"] == 6
    for key in ("linear_probe/model/1_per_class", "linear_probe/model/all", "knn/model", "kmeans_nmi/model",
                "train/last_logged_loss"):  # fmt: skip
        assert resumed[key] == reference[key], key
    whole, again = load_file(tmp_path / "whole" / "model.safetensors"), load_file(out / "model.safetensors")
    assert whole.keys() == again.keys() and all((whole[k] == again[k]).all() for k in whole)
    assert json.loads((out / "results.json").read_text())["train/steps"] == 6
