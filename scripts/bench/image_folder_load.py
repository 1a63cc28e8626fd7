"""Reading a user's image folder of photos: wall time and peak memory of ``load_image_dataset``.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/image_folder_load.py [--photos 2000] [--image-size 64]

Writes a seeded imagefolder of 512 x 384 JPEGs (4 classes, a fifth in test/) to a temporary folder, then loads it
in a fresh process (so its peak RSS is the loading's own) with ``data.image_size`` set, as a recipe or
``eval probe`` on that folder would.
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
ds = load_image_dataset(ImageDataConfig(name=sys.argv[1], image_size=int(sys.argv[2])))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(f"{ds['train'].num_rows} train + {ds['test'].num_rows} test images at {sys.argv[2]}x{sys.argv[2]}: "
      f"{seconds:.1f} s, peak RSS {peak:.2f} GB")
"""


def write_photos(root: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    base = np.random.default_rng(0).integers(0, 255, (384, 512, 3), dtype=np.uint8)
    for i in range(n):
        folder = root / ("test" if i % 5 == 0 else "train") / f"c{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.roll(base, i, axis=1)).save(folder / f"{i}.jpg", quality=80)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--photos", type=int, default=2000)
    p.add_argument("--image-size", type=int, default=64)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_photos(Path(tmp), args.photos)
        subprocess.run([sys.executable, "-c", LOAD, tmp, str(args.image_size)], check=True)


if __name__ == "__main__":
    main()
