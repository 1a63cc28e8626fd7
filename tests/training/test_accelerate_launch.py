"""Recipes under ``accelerate launch`` with 2 CPU processes (gloo), through accelerate's own launcher
and the configs in recipes/accelerate/: both processes train, only the main one writes."""

from __future__ import annotations

import ctypes.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "recipes" / "accelerate"


def launch(config: str, port: int, recipe: str, *overrides: str, ok: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / config),
           "--num_processes", "2", "--main_process_port", str(port),
           "-m", "hf_replearn", "train", str(ROOT / "recipes" / recipe), *overrides]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert (proc.returncode == 0) == ok, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_each_config_parses_with_accelerates_loader_and_names_its_command(path):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(str(path))
    assert isinstance(config, ClusterConfig) and config.num_processes >= 2
    assert f"accelerate launch --config_file recipes/accelerate/{path.name}" in path.read_text().splitlines()[0]
    if path.name == "fsdp.yaml":
        assert config.fsdp_config["fsdp_version"] == 2


def test_moco_recipe_two_processes_fill_one_queue(tmp_path, free_port):
    out = tmp_path / "moco"
    proc = launch("multi_cpu.yaml", free_port, "moco_fashion_mnist.yaml", f"output_dir={out}", "data.name=digits",
                  "dataset_limit=128", "max_steps=2", "per_device_train_batch_size=16", "model.widths=[8,16]",
                  "model.projection_dim=8", "model.queue_size=96", "model.shuffle_bn_groups=2", "evaluation.seeds=1",
                  "evaluation.labels_per_class=[1]", "evaluation.baselines=[]", "evaluation.tsne=false",
                  "save_steps=100", "logging_steps=1")  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["train/processes"] == 2 and results["train/steps"] == 2
    with safe_open(out / "model.safetensors", "pt") as f:
        # 2 steps x 2 processes x 16 keys enqueued: 64. Keys of the main process only would give 32.
        assert int(f.get_tensor("keys.queue_ptr")) == 64
    assert proc.stdout.count("Linear probe") == 1  # the probe and the card: the main process only
    assert {"README.md", "config.json", "model.safetensors", "results.json"} <= {p.name for p in out.iterdir()}


CPC_TINY = ["dataset_limit=6", "data.num_speakers=3", "data.train_per_speaker=3", "data.test_per_speaker=2",
            "data.crop_samples=4000", "model.hidden_size=16", "model.context_size=16", "model.num_prediction_steps=3",
            "model.num_negatives=4", "per_device_train_batch_size=3", "evaluation.max_iter=50", "evaluation.tsne=false",
            "evaluation.supervised_steps=3"]


@pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_cpc_recipe_two_processes_build_one_corpus_and_probe_once(tmp_path, free_port):
    """Both processes used to synthesize the speech corpus into one cache folder at once (OSError: Directory
    not empty) and both ran the probes. The other recipes tried by hand under 2 processes: README "Many GPUs"."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = launch("multi_cpu.yaml", free_port, "cpc_speech.yaml", f"output_dir={out}", f"data.cache_dir={cache}",
                  "max_steps=2", "logging_steps=1", "save_steps=100", *CPC_TINY)  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 2
    assert proc.stdout.count("Linear probes") == 1  # the probes on the main process only
    assert 0 <= results["linear_probe/supervised/phone"] <= 1  # its training loop joins no process group
    assert {"README.md", "config.json", "model.safetensors"} <= {p.name for p in out.iterdir()}
    corpus = list(cache.iterdir())  # one corpus, no temporary folder left behind
    assert len(corpus) == 1 and corpus[0].name.startswith("espeak-") and (corpus[0] / "dataset_dict.json").is_file()


@pytest.mark.skipif(not shutil.which("bible"), reason="mlm_bert's corpus: apt-get install bible-kjv")
def test_mlm_recipe_under_the_fsdp_config_trains_as_ddp_on_cpu(tmp_path, free_port):
    """recipes/accelerate/fsdp.yaml on a CPU-only machine: accelerate 1.15 leaves FSDP off (MULTI_CPU), the
    2 processes train data-parallel, and the saved model is whole."""
    out = tmp_path / "mlm"
    launch("fsdp.yaml", free_port, "mlm_bert.yaml", f"output_dir={out}", "dataset_limit=200", "data.block_size=32",
           "tokenizer.vocab_size=300", "model.hidden_size=32", "model.num_layers=1", "model.num_heads=2",
           "model.intermediate_size=64", "max_steps=2", "per_device_train_batch_size=8",
           "per_device_eval_batch_size=32", "logging_steps=1")  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    # tokens per step count both processes: 2 steps x 8 blocks x 2 processes x 32 tokens
    assert results["train/tokens"] == 2 * 8 * 2 * 32
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(out)
    assert model.num_parameters() == results["model/total_params"]


def test_two_processes_refuse_an_output_dir_that_holds_another_run(tmp_path, free_port):
    """Every process checks output_dir before any writes, so they all stop (none waits forever at a
    barrier) and the other run's files are untouched."""
    out = tmp_path / "taken"
    out.mkdir()
    (out / "results.json").write_text('{"keep": 1}')
    proc = launch("multi_cpu.yaml", free_port, "quickstart.yaml", f"output_dir={out}", ok=False)
    assert proc.stderr.count("already holds another run") == 2  # one message per process
    assert [p.name for p in out.iterdir()] == ["results.json"] and (out / "results.json").read_text() == '{"keep": 1}'
