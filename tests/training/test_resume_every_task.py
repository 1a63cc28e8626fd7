"""Kill-and-resume for every task family: each recipe at smoke size (its overrides from
tests/recipes/test_all_recipes.py), SIGKILLed when step 3 of 6 ends (checkpoint-2 saved), then resumed with
``resume_from_checkpoint=true``, ends with the weights (model.safetensors, bit for bit) and the results.json
metrics of an uninterrupted run with the same seed.

WordPiece tokenizer training (``tokenizers``) numbers tied pieces in an order that changes from process to
process, so two runs of mlm_bert or clip in two processes differ from the start whatever the seed. A resumed
run keeps the tokenizer its checkpoint holds (``training.args.resumed_tokenizer``); here the uninterrupted
run is given the killed run's tokenizer too (:data:`TRAINED_TOKENIZER`), and then matches bit for bit.

Tolerances: ``train/loss`` is the whole run's mean loss, summed in two parts (before the checkpoint, kept in
it, and after) instead of one, so it may differ in the last bits of a float64 (relative 1e-9). Runtime and
throughput are measured, not compared; they must count the whole run (see ``check_whole_run_clock``).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from hf_replearn.cli import main
from tests.recipes.test_all_recipes import CASES, NEEDS

ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("kill_recipe_job.py")
FAMILIES = {  # task family -> the recipe that stands for it
    "simclr": "simclr_fashion_mnist.yaml",
    "moco": "moco_fashion_mnist.yaml",
    "rotation": "rotation_fashion_mnist.yaml",
    "autoencoder": "autoencoder_fashion_mnist.yaml",
    "beta_vae": "beta_vae_sprites.yaml",
    "context": "context_fashion_mnist.yaml",
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


TRAINED_TOKENIZER = {"mlm": "hf_replearn.tasks.lm", "clip": "hf_replearn.tasks.clip"}
"""Families whose task module's ``build_tokenizer`` trains a WordPiece tokenizer (see the module docstring)."""

EPOCH_CROSSING = {"word2vec.yaml": ["dataset_limit=12"], "mlm_bert.yaml": ["dataset_limit=24"]}
"""Smaller corpora where 6 steps would stay inside the first epoch: the run crosses an epoch boundary after
the checkpoint (word2vec redraws subsampling and negatives per epoch through ``set_epoch``, MLM its masks). The image
recipes do already: 64 examples in batches of 16."""


def measured(key: str) -> bool:
    """Timings: measured, not compared (the whole run's clock is checked by ``check_whole_run_clock``)."""
    return "runtime" in key or "per_second" in key or key.endswith("_s")
LOSS_REL_TOL = 1e-6


def overrides(name: str, out: Path, cache: Path) -> list[str]:
    case = CASES[name]
    extra = [f"data.cache_dir={cache}-{out.name}"] if name == "cpc_speech.yaml" else []  # one per concurrent run
    return [f"output_dir={out}", "max_steps=6", "save_strategy=steps", "save_steps=2", f"dataset_limit={case.limit}", "disable_tqdm=true",
            *case.overrides, *extra, *EPOCH_CROSSING.get(name, [])]  # fmt: skip


def check_whole_run_clock(out: Path, results: dict) -> None:
    """The resumed run's runtime holds the killed attempt's training time up to checkpoint-2 (kept in it) plus
    the resumed attempt's; samples per second are 6 steps of the global batch over that runtime."""
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text()) if (out / "checkpoint-4").is_dir() \
        else json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    before = state["stateful_callbacks"]["RunTotals"]["attributes"]["elapsed_s"]
    killed_part = json.loads((out / ".killed_state.json").read_text())["stateful_callbacks"]["RunTotals"]
    assert killed_part["attributes"]["elapsed_s"] > 0
    assert results["train/runtime_s"] > killed_part["attributes"]["elapsed_s"]
    assert results["train/runtime_s"] >= before - 1e-6
    batch = state["train_batch_size"] * results["train/processes"]
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
    if family in TRAINED_TOKENIZER:  # the reference waits for the killed run's tokenizer
        log, _ = job.communicate(timeout=300)
        from hf_replearn.data.tokenizer_training import load_tokenizer

        monkeypatch.setattr(importlib.import_module(TRAINED_TOKENIZER[family]), "build_tokenizer",
                            lambda *args: load_tokenizer(killed / "checkpoint-2"))  # fmt: skip
    assert main(["train", recipe, *overrides(name, tmp_path / "whole", cache)]) == 0
    monkeypatch.undo()
    monkeypatch.chdir(ROOT)
    if job.returncode is None:
        log, _ = job.communicate(timeout=300)
    assert job.returncode == -signal.SIGKILL, log[-3000:]
    assert sorted(p.name for p in killed.glob("checkpoint-*")) == ["checkpoint-2"]
    assert not (killed / "results.json").exists()
    (killed / ".killed_state.json").write_text((killed / "checkpoint-2" / "trainer_state.json").read_text())

    assert main(["train", recipe, *overrides(name, killed, cache), "resume_from_checkpoint=true"]) == 0
    for weights in sorted(p.name for p in (tmp_path / "whole").glob("*.safetensors")):
        a, b = load_file(tmp_path / "whole" / weights), load_file(killed / weights)
        assert a.keys() == b.keys()
        unequal = [k for k in a if not (a[k] == b[k]).all()]
        assert not unequal, f"{weights}: {unequal[:5]}"
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert resumed.keys() == whole.keys()
    different = {k: (whole[k], resumed[k]) for k in whole if not measured(k) and k != "train/loss" and whole[k] != resumed[k]}
    assert not different, different
    assert math.isclose(resumed["train/loss"], whole["train/loss"], rel_tol=LOSS_REL_TOL)
    check_whole_run_clock(killed, resumed)
