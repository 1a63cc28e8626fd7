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
