import json
import os
import subprocess
import sys
from pathlib import Path

from hf_replearn.data.paths import DATA_ROOT_ENV, system_path


def test_system_path_default_is_the_path_itself(monkeypatch):
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    assert str(system_path("/usr/share/datasets/fashion-mnist")) == "/usr/share/datasets/fashion-mnist"
    monkeypatch.setenv(DATA_ROOT_ENV, "")  # empty: unset
    assert str(system_path("/usr/share/games/fortunes")) == "/usr/share/games/fortunes"


def test_system_path_under_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    assert system_path("/usr/share/games/fortunes") == tmp_path / "usr" / "share" / "games" / "fortunes"
    assert system_path("/") == tmp_path


def _write_idx(path, array):
    import gzip

    import numpy as np

    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_loaders_read_a_copy_under_the_data_root(tmp_path):
    import numpy as np

    fmnist = tmp_path / "usr/share/datasets/fashion-mnist"
    fmnist.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        _write_idx(fmnist / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(fmnist / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    fortunes = tmp_path / "usr/share/games/fortunes"
    fortunes.mkdir(parents=True)
    (fortunes / "tiny").write_text("first entry\n%\nsecond entry\n%\nthird\n")
    docs = tmp_path / "usr/share/doc/python3.12/html/_sources/library"
    docs.mkdir(parents=True)
    (docs / "a.rst.txt").write_text("Para one.\n\nPara two.\n")

    # The paths are read at import: a fresh interpreter with the variable set, so no module is reloaded here.
    script = (
        "import json; from hf_replearn.data import images, text\n"
        "splits, classes = images._fashion_mnist(None)\n"
        "print(json.dumps({'dir': str(images.FASHION_MNIST_DIR), 'train': list(splits['train'][0].shape),\n"
        "  'test_labels': splits['test'][1].tolist(), 'classes': len(classes),\n"
        "  'fortunes': list(text.CORPORA['fortunes'].read()), 'docs': list(text.CORPORA['python-docs'].read())}))"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, DATA_ROOT_ENV: str(tmp_path), "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout)
    assert out["dir"] == str(fmnist)
    assert out["train"] == [20, 1, 28, 28] and out["test_labels"] == list(range(10)) and out["classes"] == 10
    assert out["fortunes"] == ["first entry", "second entry", "third"]
    assert out["docs"] == ["Para one.", "Para two.\n"]
