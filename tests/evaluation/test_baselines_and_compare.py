import json

import numpy as np
import pytest

from hf_replearn.data.images import ImageDataConfig, load_image_dataset
from hf_replearn.errors import UserError
from hf_replearn.evaluation.compare import comparison_markdown, probe_many
from hf_replearn.evaluation.probe import ProbeConfig, baseline_features, fraction_subset, kmeans_nmi, probe_table


def test_fraction_subset_is_stratified_and_keeps_every_class():
    y = np.array([0] * 100 + [1] * 50 + [2] * 3)
    idx = fraction_subset(y, 0.1, seed=0)
    assert np.bincount(y[idx]).tolist() == [10, 5, 1]
    assert len(fraction_subset(y, 1.0, seed=0)) == len(y)


def test_kmeans_nmi_on_separated_and_random_blobs():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    assert kmeans_nmi(np.eye(3)[y] * 10 + rng.normal(size=(150, 3)), y) == pytest.approx(1.0)
    assert kmeans_nmi(rng.normal(size=(150, 3)), y) < 0.1


@pytest.mark.parametrize("name", ["ica", "dictionary", "rbm"])
def test_classic_baselines_beat_chance_on_digits(name):
    data = load_image_dataset(ImageDataConfig(name="digits"), dataset_limit=300)
    tr = np.asarray(data["train"]["pixel_values"]).reshape(300, -1) / 255
    te = np.asarray(data["test"]["pixel_values"]).reshape(len(data["test"]), -1) / 255
    cfg = ProbeConfig(pca_components=16, baseline_fit_samples=300)
    ftr, fte = baseline_features(name, tr, te, cfg)
    assert ftr.shape == (300, 16) and fte.shape == (len(te), 16)
    from hf_replearn.evaluation.probe import probe_features

    probe = ProbeConfig(labels_per_class=[], kmeans_nmi=False)
    r = probe_features(name, ftr, np.asarray(data["train"]["label"]), fte, np.asarray(data["test"]["label"]), probe)
    assert r[f"linear_probe/{name}/all"] > 0.6  # chance is 0.1
    with pytest.raises(UserError, match="unknown"):
        ProbeConfig(baselines=["nmf"]).validate()


def test_compare_writes_table_json_and_plot(tmp_path):
    import hf_replearn.models  # noqa: F401
    from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel

    model = SimCLRModel(SimCLRConfig(num_channels=1, image_size=8, widths=[8, 16], projection_dim=4))
    model.save_pretrained(tmp_path / "simclr_tiny")
    table = probe_many([str(tmp_path / "simclr_tiny")], "digits", tmp_path / "cmp", baselines=["raw", "pca", "random_init"],
                       dataset_limit=200)  # fmt: skip
    assert set(table) == {"simclr_tiny", "raw", "pca", "random_init"}
    for row in table.values():
        assert {"linear_probe/1pct", "linear_probe/10pct", "linear_probe/100pct", "knn/10pct", "kmeans_nmi"} <= set(row)
        assert row["linear_probe/100pct"] == row["linear_probe/all"]
    assert table["raw"]["linear_probe/100pct"] > 0.8 and table["raw"]["kmeans_nmi"] > 0.4
    assert table["raw"]["knn/10pct"] > 0.5  # k capped at the smallest class, not a vote by class size
    assert json.loads((tmp_path / "cmp" / "comparison.json").read_text()) == table
    md = (tmp_path / "cmp" / "comparison.md").read_text()
    assert md.startswith("| features | linear 1% | linear 10% | linear 100% |") and "| raw |" in md
    assert (tmp_path / "cmp" / "accuracy_vs_labels.png").stat().st_size > 1000
    with pytest.raises(UserError, match="no config.json"):
        probe_many([str(tmp_path)], "digits", tmp_path / "cmp2")


def test_table_shows_fractions_and_nmi():
    table = probe_table({"linear_probe/m/10pct": 0.7, "linear_probe/m/all": 0.9, "knn/m": 0.8, "kmeans_nmi/m": 0.5})
    assert "| features | 10% labels | all labels | k-NN (all) | k-means NMI |" in table
    assert "| m | 0.700 | 0.900 | 0.800 | 0.500 |" in table
    assert "k-means NMI" in comparison_markdown({"m": {"kmeans_nmi": 0.5}}, [0.1])


@pytest.mark.parametrize("name", ["pca", "ica"])
def test_fewer_training_images_than_components_keep_the_baseline_honest(name):
    """48 training images, 64 components asked: only the 47 directions the centred rows span are kept. A 48th
    (a null direction, unit variance after the probe's standardisation) put the test rows at chance."""
    from hf_replearn.evaluation.probe import probe_features

    data = load_image_dataset(ImageDataConfig(name="digits"), dataset_limit=48)
    tr = np.asarray(data["train"]["pixel_values"]).reshape(48, -1) / 255
    te = np.asarray(data["test"]["pixel_values"]).reshape(len(data["test"]), -1) / 255
    ftr, fte = baseline_features(name, tr, te, ProbeConfig(pca_components=64))
    assert ftr.shape == (48, 47)
    probe = ProbeConfig(labels_per_class=[], kmeans_nmi=False)
    r = probe_features(name, ftr, np.asarray(data["train"]["label"]), fte, np.asarray(data["test"]["label"]), probe)
    assert r[f"linear_probe/{name}/all"] > 0.25  # chance 0.1; with the null direction: pca 0.08, ica 0.10


def test_a_tfidf_baseline_without_a_word_to_weigh_is_named():
    from hf_replearn.evaluation.text_baselines import tfidf_features

    with pytest.raises(UserError, match="--baselines tfidf_word: no n-gram of the training texts to weigh"):
        tfidf_features("tfidf_word", ["a b", "c", "d e f"], ["a"])  # scikit-learn's words have two characters or more
    train, _ = tfidf_features("tfidf_char", ["a b", "c", "d e f"], ["a"])  # character n-grams take " a "
    assert train.shape[0] == 3 and train.nnz > 0
