"""CPC on a user's audiofolder against the same clips as the recipe's own corpus.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/cpc_audiofolder.py [--steps 1200] [--supervised-steps 300]

Writes the cpc recipe's espeak corpus (24 speakers, its train / test split) as an audiofolder of 16-bit WAV files
(``train/<speaker>/*.wav``, ``test/<speaker>/*.wav``), then trains the recipe twice side by side, one thread each,
with the bench's smaller model (``bench_cpc.SMALL``): on ``data.name=espeak`` and on ``data.name=<the folder>``.
The folder has no phone labels, so its run reports the speaker probe only; the speaker rows should agree up to the
16-bit quantisation of the clips and the runs' different data order.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.bench_cpc import SMALL  # noqa: E402
from scripts.bench.common import ROOT  # noqa: E402


def export(root: Path) -> None:
    import numpy as np
    from scipy.io import wavfile

    from hf_replearn.data.speech import SpeechDataConfig, load_speech_dataset

    ds = load_speech_dataset(SpeechDataConfig())
    for split in ("train", "test"):
        for i, row in enumerate(ds[split].with_format("numpy", columns=["audio", "speaker"])):
            folder = root / split / f"speaker{int(row['speaker']):02d}"
            folder.mkdir(parents=True, exist_ok=True)
            wavfile.write(folder / f"{i:04d}.wav", 16000, (np.clip(row["audio"], -1, 1) * 32767).astype(np.int16))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--supervised-steps", type=int, default=300)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "espeak_folder"
        export(folder)
        runs = {"espeak": "espeak", "audiofolder": str(folder)}
        procs = {
            name: subprocess.Popen([sys.executable, "-m", "hf_replearn", "train", str(ROOT / "recipes" / "cpc_speech.yaml"),
                                    f"data.name={data}", f"output_dir={tmp}/{name}", f"max_steps={args.steps}",
                                    f"evaluation.supervised_steps={args.supervised_steps}", *SMALL],
                                   env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL)  # fmt: skip
            for name, data in runs.items()
        }
        for proc in procs.values():
            proc.wait()
        print("| corpus | features | phone | speaker |\n|---|---|---|---|")
        for name in runs:
            results = json.loads((Path(tmp) / name / "results.json").read_text())
            for features in ("cpc", "mfcc", "random_init", "supervised"):
                phone = results.get(f"linear_probe/{features}/phone")
                print(f"| {name} | {features} | {'-' if phone is None else f'{phone:.3f}'} | "
                      f"{results[f'linear_probe/{features}/speaker']:.3f} |")


if __name__ == "__main__":
    main()
