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
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.bench_cpc import SMALL  # noqa: E402
from scripts.bench.common import train_side_by_side  # noqa: E402


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
        results = train_side_by_side("cpc_speech.yaml", list(runs.values()), Path(tmp), f"max_steps={args.steps}",
                                     f"evaluation.supervised_steps={args.supervised_steps}", *SMALL)
        print("| corpus | features | phone | speaker |\n|---|---|---|---|")
        for name, result in zip(runs, results):
            for features in ("cpc", "mfcc", "random_init", "supervised"):
                phone = result.get(f"linear_probe/{features}/phone")
                print(f"| {name} | {features} | {'-' if phone is None else f'{phone:.3f}'} | "
                      f"{result[f'linear_probe/{features}/speaker']:.3f} |")


if __name__ == "__main__":
    main()
