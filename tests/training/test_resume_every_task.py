"""Kill-and-resume for every task family: each recipe at smoke size (its overrides from
tests/recipes/test_all_recipes.py), SIGKILLed when step 3 of 6 ends (checkpoint-2 saved), then resumed with
``resume_from_checkpoint=true``, ends with the weights (model.safetensors, bit for bit) and the results.json
metrics of an uninterrupted run with the same seed.

The recipes that train a tokenizer (mlm_bert, clip) train it in both runs: one corpus gives one vocabulary
(``data/tokenizer_training.py``), so the two runs match from the start.

Tolerance: ``train/loss`` is the whole run's mean loss. Trainer sums the step losses in a float32 tensor
between logging steps; a resumed run sums them in two parts (before the checkpoint, kept in it, and after),
so the mean may differ in the last float32 bits (relative 1e-6). Every other metric and every weight is
compared exactly. Runtime and throughput are measured, not compared: they must count the whole run
(``check_whole_run_clock``).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import Trainer, TrainerCallback

from hf_replearn.cli import main
from tests.recipes.test_all_recipes import CASES, NEEDS

ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("kill_recipe_job.py")
FAMILIES = {  # task family -> the recipe that stands for it (inpainting for the pretext tasks: context, colorization)
    "simclr": "simclr_fashion_mnist.yaml",
    "moco": "moco_fashion_mnist.yaml",
    "vicreg": "vicreg_fashion_mnist.yaml",
    "rotation": "rotation_fashion_mnist.yaml",
    "autoencoder": "autoencoder_fashion_mnist.yaml",
    "beta_vae": "beta_vae_sprites.yaml",
    "inpainting": "inpainting_fashion_mnist.yaml",
    "mlm": "mlm_bert.yaml",
    "clm": "clm_gpt2.yaml",
    "word2vec": "word2vec.yaml",
    "cpc": "cpc_speech.yaml",
    "clm_incontext": "clm_incontext.yaml",
    "glue": "glue.yaml",
    "squad": "squad.yaml",
    "clip": "clip_emoji.yaml",
    "finetune_images": "finetune_images.yaml",
}


EPOCH_CROSSING = {"word2vec.yaml": ["dataset_limit=12"], "mlm_bert.yaml": ["dataset_limit=24"]}
"""Smaller corpora where 6 steps would stay inside the first epoch: the run crosses an epoch boundary after
the checkpoint (word2vec redraws subsampling and negatives per epoch through ``set_epoch``, MLM its masks).
The image recipes cross one already: 64 examples in batches of 16."""


def measured(key: str) -> bool:
    """Timings: measured, not compared (the whole run's clock is checked by ``check_whole_run_clock``)."""
    return "runtime" in key or "per_second" in key or key.endswith("_s")


LOSS_REL_TOL = 1e-6


def overrides(name: str, out: Path, cache: Path) -> list[str]:
    case = CASES[name]
    extra = [f"data.cache_dir={cache}-{out.name}"] if name == "cpc_speech.yaml" else []  # one per concurrent run
    return [f"output_dir={out}", "max_steps=6", "save_strategy=steps", "save_steps=2", f"dataset_limit={case.limit}",
            "disable_tqdm=true", *case.overrides, *extra, *EPOCH_CROSSING.get(name, [])]  # fmt: skip


class _Steps(TrainerCallback):
    def __init__(self, seen: list):
        self.seen = seen

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)


def check_whole_run_clock(killed_state: dict, results: dict) -> None:
    """The resumed run's runtime holds the killed attempt's training time up to checkpoint-2 (kept in it) plus
    the resumed attempt's; samples per second are 6 steps of the global batch over that runtime."""
    before = killed_state["stateful_callbacks"]["RunTotals"]["attributes"]["elapsed_s"]
    assert 0 < before < results["train/runtime_s"]
    batch = killed_state["train_batch_size"] * results["train/processes"]  # no gradient accumulation here
    assert math.isclose(results["train/samples_per_second"], 6 * batch / results["train/runtime_s"], rel_tol=1e-9)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_killed_run_resumes_to_the_uninterrupted_result(family, tmp_path, monkeypatch):
    name = FAMILIES[family]
    missing = [need for need in CASES[name].needs if not NEEDS[need]()]
    if missing:
        pytest.skip(f"{name} needs {', '.join(missing)}")
    monkeypatch.chdir(ROOT)  # recipes name their few-shot task files relative to the repository root
    recipe, cache = str(ROOT / "recipes" / name), tmp_path / "cache"
    killed = tmp_path / "killed"
    # the killed attempt runs in its own process while this one trains the uninterrupted reference
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    job = subprocess.Popen([sys.executable, str(JOB), "3", recipe, *overrides(name, killed, cache)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert main(["train", recipe, *overrides(name, tmp_path / "whole", cache)]) == 0
    monkeypatch.undo()
    monkeypatch.chdir(ROOT)
    log, _ = job.communicate(timeout=300)
    assert job.returncode == -signal.SIGKILL, log[-3000:]
    assert sorted(p.name for p in killed.glob("checkpoint-*")) == ["checkpoint-2"]
    assert not (killed / "results.json").exists()
    killed_state = json.loads((killed / "checkpoint-2" / "trainer_state.json").read_text())

    steps, init = [], Trainer.__init__

    def init_with_step_log(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.add_callback(_Steps(steps))

    monkeypatch.setattr(Trainer, "__init__", init_with_step_log)
    assert main(["train", recipe, *overrides(name, killed, cache), "resume_from_checkpoint=true"]) == 0
    assert steps[:4] == [3, 4, 5, 6]  # continued from checkpoint-2, not trained again from the start
    files = sorted(p.name for p in (tmp_path / "whole").glob("*.safetensors"))
    assert files
    for weights in files:
        a, b = load_file(tmp_path / "whole" / weights), load_file(killed / weights)
        assert a.keys() == b.keys()
        unequal = [k for k in a if not (a[k] == b[k]).all()]
        assert not unequal, f"{weights}: {unequal[:5]}"
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert resumed.keys() == whole.keys()
    compared = [k for k in whole if not measured(k) and k != "train/loss"]
    different = {k: (whole[k], resumed[k]) for k in compared if whole[k] != resumed[k]}
    assert not different, different
    assert math.isclose(resumed["train/loss"], whole["train/loss"], rel_tol=LOSS_REL_TOL)
    check_whole_run_clock(killed_state, resumed)
