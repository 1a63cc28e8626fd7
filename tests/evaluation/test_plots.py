import numpy as np
from PIL import Image

from hf_replearn.evaluation.plots import tsne_plot


def test_tsne_of_fewer_points_than_dimensions(tmp_path):
    """24 test points of 100 dimensions (a small imagefolder's probe): no PCA to 50 components, still a picture."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 12)
    features = rng.normal(size=(24, 100)) + 5 * labels[:, None]
    path = tsne_plot(features, labels, tmp_path / "tsne.png", class_names=["a", "b"])
    assert Image.open(path).size == (720, 720)


def test_a_tsne_of_too_few_points_draws_nothing(tmp_path, capsys):
    from hf_replearn.evaluation.plots import TSNE_MIN_POINTS, tsne_plot

    x = np.random.default_rng(0).normal(size=(TSNE_MIN_POINTS - 1, 4))
    assert tsne_plot(x, np.arange(len(x)) % 2, tmp_path / "tsne.png") is None
    assert not (tmp_path / "tsne.png").exists() and "no picture" in capsys.readouterr().out
    x = np.random.default_rng(0).normal(size=(TSNE_MIN_POINTS, 4))
    assert tsne_plot(x, np.arange(len(x)) % 2, tmp_path / "tsne.png").is_file()
