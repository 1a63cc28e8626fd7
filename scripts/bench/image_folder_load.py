"""Reading a user's image folder: wall time and peak memory of ``load_image_dataset``.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/image_folder_load.py [--photos 2000] [--image-size 64] [--small 12000]

Two seeded imagefolders (train/ and test/ of class folders, a fifth of the files in test/) in a temporary folder,
each loaded in a fresh process (so its peak RSS is the loading's own), as a recipe or ``eval probe`` on it would:
``--photos`` 512 x 384 JPEGs in 4 classes read at ``data.image_size`` (decoding dominates), and ``--small`` 32 x 32
PNGs in 10 classes read at their size (listing the files dominates).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

LOAD = """
import resource, sys, time
from hf_replearn.data.images import ImageDataConfig, load_image_dataset
start = time.perf_counter()
size = int(sys.argv[2]) or None
ds = load_image_dataset(ImageDataConfig(name=sys.argv[1], image_size=size))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
side = ds["train"][0]["pixel_values"].shape[-1]
print(f"{ds['train'].num_rows} train + {ds['test'].num_rows} test images at {side}x{side}: "
      f"{seconds:.1f} s, peak RSS {peak:.2f} GB")
"""


def write_images(root: Path, n: int, shape: tuple, classes: int, suffix: str) -> None:
    import numpy as np
    from PIL import Image

    base = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    for i in range(n):
        folder = root / ("test" if i % 5 == 0 else "train") / f"c{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.roll(base, i, axis=1)).save(folder / f"{i}{suffix}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--photos", type=int, default=2000)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--small", type=int, default=12000)
    args = p.parse_args()
    for n, shape, classes, suffix, size in ((args.photos, (384, 512, 3), 4, ".jpg", args.image_size),
                                            (args.small, (32, 32, 3), 10, ".png", 0)):  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            write_images(Path(tmp), n, shape, classes, suffix)
            subprocess.run([sys.executable, "-c", LOAD, tmp, str(size)], check=True)


if __name__ == "__main__":
    main()
