import numpy as np
import pytest

from hf_replearn.evaluation.probe import (ProbeConfig, balanced_subset, knn_accuracy, probe_features, probe_table,
                                          shown_in_probe_table)
from hf_replearn.errors import UserError


def blobs(n_per_class, sep, seed):
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 5) * sep
    x = np.concatenate([c + rng.normal(size=(n_per_class, 5)) for c in centres])
    y = np.repeat(np.arange(3), n_per_class)
    return x, y


def test_separable_blobs_give_perfect_probes():
    (xtr, ytr), (xte, yte) = blobs(50, 20, 0), blobs(30, 20, 1)
    r = probe_features("toy", xtr, ytr, xte, yte, ProbeConfig(labels_per_class=[1, 10], seeds=3))
    assert r["linear_probe/toy/1_per_class"] == 1.0
    assert r["linear_probe/toy/10_per_class"] == 1.0
    assert r["linear_probe/toy/all"] == 1.0
    assert r["knn/toy"] == 1.0
    assert r["linear_probe_std/toy/1_per_class"] == 0.0


def test_noise_features_give_chance():
    rng = np.random.default_rng(0)
    xtr, xte = rng.normal(size=(600, 20)), rng.normal(size=(3000, 20))
    ytr, yte = rng.integers(0, 2, 600), rng.integers(0, 2, 3000)
    r = probe_features("noise", xtr, ytr, xte, yte, ProbeConfig(labels_per_class=[10], seeds=3))
    assert abs(r["linear_probe/noise/all"] - 0.5) < 0.05
    assert abs(r["knn/noise"] - 0.5) < 0.05


def test_more_labels_help_on_overlapping_blobs():
    (xtr, ytr), (xte, yte) = blobs(300, 2.0, 0), blobs(300, 2.0, 1)
    r = probe_features("b", xtr, ytr, xte, yte, ProbeConfig(labels_per_class=[1, 100], seeds=5))
    assert r["linear_probe/b/1_per_class"] < r["linear_probe/b/100_per_class"]
    # Bayes accuracy for centres sep*e_i with unit noise is about 0.84; the full probe gets close.
    assert r["linear_probe/b/all"] == pytest.approx(0.84, abs=0.04)


def test_balanced_subset_is_seeded_and_balanced():
    y = np.array([0] * 10 + [1] * 3 + [2] * 7)
    idx = balanced_subset(y, 5, seed=1)
    assert np.bincount(y[idx]).tolist() == [5, 3, 5]
    assert np.array_equal(idx, balanced_subset(y, 5, seed=1))
    assert not np.array_equal(balanced_subset(y, 5, seed=1), balanced_subset(y, 5, seed=2))


def test_knn_on_a_known_layout():
    xtr = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
    ytr = np.array([0, 0, 1, 1])
    assert knn_accuracy(xtr, ytr, np.array([[1, 0.2], [0.2, 1]]), np.array([0, 1]), k=1) == 1.0


def test_table_and_config_errors():
    table = probe_table({"linear_probe/model/1_per_class": 0.5, "linear_probe/model/all": 0.9, "knn/model": 0.8,
                         "linear_probe_std/model/1_per_class": 0.01})  # fmt: skip
    assert "| model | 0.500 ± 0.010 | 0.900 | 0.800 |" in table
    # subsets that agree exactly still show their spread, as every other cell of the column does
    same = probe_table({"linear_probe/model/1_per_class": 0.5, "linear_probe_std/model/1_per_class": 0.0})
    assert "| model | 0.500 ± 0.000 |" in same
    with pytest.raises(UserError, match="unknown"):
        ProbeConfig(baselines=["ica2"]).validate()
    with pytest.raises(UserError, match="tsne=false"):
        ProbeConfig(tsne_points=0).validate()
    ProbeConfig(tsne=False, tsne_points=0).validate()  # no picture asked for: nothing to check


def test_cross_validated_c_equals_a_hand_written_grid_search():
    from sklearn.linear_model import LogisticRegression

    from hf_replearn.evaluation.probe_cv import CV_GRID, cv_folds, cv_linear_probe

    (xtr, ytr), (xte, yte) = blobs(40, 1.5, 0), blobs(30, 1.5, 1)
    idx = balanced_subset(ytr, 10, seed=2)
    x, y = xtr[idx], ytr[idx]
    # naive reference: every C on the same folds, mean fold accuracy, the first best C
    folds = list(cv_folds(y, seed=2).split(x, y))
    assert len(folds) == 5 and all(len(np.unique(y[test])) == 3 for _, test in folds)
    scores = [np.mean([LogisticRegression(C=c, max_iter=1000).fit(x[tr], y[tr]).score(x[te], y[te]) for tr, te in folds])
              for c in CV_GRID]  # fmt: skip
    best = CV_GRID[int(np.argmax(scores))]
    accuracy, chosen = cv_linear_probe(x, y, xte, yte, seed=2)
    assert chosen == best
    assert accuracy == LogisticRegression(C=best, max_iter=1000).fit(x, y).score(xte, yte)
    one = balanced_subset(ytr, 1, seed=0)
    assert cv_linear_probe(xtr[one], ytr[one], xte, yte) is None  # one example per class: nothing to hold out


def test_cv_keys_sit_beside_the_fixed_c_ones():
    (xtr, ytr), (xte, yte) = blobs(50, 3, 0), blobs(30, 3, 1)
    r = probe_features("b", xtr, ytr, xte, yte, ProbeConfig(labels_per_class=[1, 4], seeds=2, cv_c=True, kmeans_nmi=False))
    assert "linear_probe_cv/b/1_per_class" not in r  # below 2 per class there are no folds
    assert {"linear_probe_cv/b/4_per_class", "linear_probe_cv_std/b/4_per_class", "linear_probe_cv_C/b/4_per_class"} <= set(r)
    assert "| features | 1/class | 4/class | 4/class, C by CV | all labels | k-NN (all) |" in probe_table(r)
    assert "linear_probe_cv/b/4_per_class" not in probe_features("b", xtr, ytr, xte, yte, ProbeConfig(labels_per_class=[4]))


def test_all_label_probe_on_many_rows_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from hf_replearn.evaluation.probe import LARGE_FIT_ROWS

    (xtr, ytr), (xte, yte) = blobs(LARGE_FIT_ROWS // 3 + 1, 1.5, 0), blobs(1000, 1.5, 1)
    r = probe_features("big", xtr, ytr, xte, yte, ProbeConfig(labels_per_class=[1], seeds=1))
    scaler = StandardScaler().fit(xtr)
    ref = LogisticRegression(max_iter=1000).fit(scaler.transform(xtr), ytr)
    assert r["linear_probe/big/all"] == pytest.approx((ref.predict(scaler.transform(xte)) == yte).mean(), abs=2e-3)


def test_knn_matches_scikit_learn_and_takes_sparse_rows():
    from scipy.sparse import csr_matrix
    from sklearn.neighbors import KNeighborsClassifier

    (xtr, ytr), (xte, yte) = blobs(400, 1.0, 0), blobs(700, 1.0, 1)
    labels = np.array([5, 2, 8])  # labels not 0..K-1, so a tie goes to the smallest label, not the first code
    ytr, yte = labels[ytr], labels[yte]
    for k in (1, 4, 20):
        ref = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(xtr, ytr).predict(xte)
        assert knn_accuracy(xtr, ytr, xte, yte, k) == pytest.approx((ref == yte).mean(), abs=1e-9)
        assert knn_accuracy(csr_matrix(xtr), ytr, csr_matrix(xte), yte, k) == pytest.approx((ref == yte).mean(), abs=1e-9)
    assert knn_accuracy(xtr[:3], ytr[:3], xte, yte, 20) > 0  # k above the rows: all of them vote


def test_knn_with_a_class_smaller_than_k_votes_among_that_many_neighbours():
    """8 and 12 training points of two far-apart blobs, k = 20: twenty neighbours would be the whole training set,
    and every test point would go to the larger class (0.5 here); k falls to 8, the smaller class's size."""
    from hf_replearn.evaluation.probe import ProbeConfig, knn_k, probe_features

    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0.0], [0.0, 5.0]])
    train_y, test_y = np.array([0] * 8 + [1] * 12), np.array([0] * 10 + [1] * 10)
    train_x = centres[train_y] + 0.1 * rng.standard_normal((20, 2))
    test_x = centres[test_y] + 0.1 * rng.standard_normal((20, 2))
    assert knn_k(20, train_y) == 8
    r = probe_features("x", train_x, train_y, test_x, test_y, ProbeConfig(labels_per_class=[], knn_k=20, kmeans_nmi=False))
    assert r["knn/x"] == 1.0


def test_shown_in_probe_table_names_exactly_the_keys_the_table_shows():
    values = iter(np.arange(0.101, 0.999, 0.037))
    keys = ["linear_probe/model/1_per_class", "linear_probe_std/model/1_per_class", "linear_probe/model/all",
            "linear_probe_cv/model/1_per_class", "linear_probe_cv_std/model/1_per_class", "linear_probe/raw/1pct",
            "knn/model", "kmeans_nmi/model", "knn/model/1pct", "linear_probe_cv_C/model/1_per_class", "eval/runtime_s"]
    results = {k: round(float(next(values)), 3) for k in keys}
    table = probe_table(results)
    shown = {k for k in keys if f"{results[k]:.3f}" in table}
    assert shown == {k for k in keys if shown_in_probe_table(k)}
    assert shown == set(keys[:8])
