"""The clip recipe on a user's folder of captioned images against the same emoji through its own data path.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/clip_own_pairs.py [--steps 1000]

Writes the emoji the recipe trains on as a user would have them: ``train/`` and ``test/`` folders (the recipe's
seeded held-out split, so both runs are evaluated on the same emoji) of 32 px PNGs, each with a ``metadata.jsonl``
whose rows give ``file_name``, ``text`` (two captions: "an emoji of NAME: all keywords" and the name) and ``label``
(the emoji's group). Then trains ``clip_emoji.yaml`` twice side by side, one thread each: on ``data.name=emoji`` and
on ``data.name=<the folder>``. The folder's run has fixed captions where the recipe's own draws keyword subsets,
and one class column (the groups) where the emoji have groups and subgroups; the retrieval rows compare the
same held-out captions, the zero-shot rows the same prompts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.common import train_side_by_side  # noqa: E402


def export(root: Path, image_size: int = 32, held_out_fraction: float = 0.15, seed: int = 0) -> None:
    from PIL import Image

    from hf_replearn.data.emoji_text import held_out_split, load_emoji_text, render_entries

    entries = load_emoji_text()
    images = render_entries(entries, image_size)
    for split, idx in zip(("train", "test"), held_out_split(entries, held_out_fraction, seed)):
        folder = root / split
        folder.mkdir(parents=True)
        rows = []
        for i in idx:
            Image.fromarray(images[i].transpose(1, 2, 0)).save(folder / f"{i:04d}.png")
            e = entries[i]
            rows.append({"file_name": f"{i:04d}.png", "text": [e.caption(), e.name], "label": e.group})
        (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


ROWS = ["retrieval/image_to_text/recall@1", "retrieval/image_to_text/recall@10", "retrieval/text_to_image/recall@1",
        "retrieval/text_to_image/recall@10"]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "emoji_folder"
        export(folder)
        runs = {"emoji (the recipe's data)": "emoji", "the same emoji as a captioned folder": str(folder)}
        start = time.time()
        results = train_side_by_side("clip_emoji.yaml", list(runs.values()), Path(tmp), f"max_steps={args.steps}")
        print(f"both runs: {time.time() - start:.0f} s wall")
        print("| metric | " + " | ".join(runs) + " |\n|---|" + "---|" * len(runs))
        rows = [(r, r, r) for r in ROWS] + [("zero_shot/group (prompt \"an emoji of GROUP\")", "zero_shot/group", "zero_shot/label"),
                                            ("image tower probe, 10 labels per group", "linear_probe", "linear_probe")]  # fmt: skip
        for title, emoji_key, folder_key in rows:
            cells = []
            for res, key in zip(results, (emoji_key, folder_key)):
                if key == "linear_probe":
                    cells.append(f"{res['linear_probe/model/10_per_class']:.3f} (raw {res['linear_probe/raw/10_per_class']:.3f})")
                else:
                    cells.append(f"{res[key + '/model']:.3f} (random init {res[key + '/random_init']:.3f})")
            print(f"| {title} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
