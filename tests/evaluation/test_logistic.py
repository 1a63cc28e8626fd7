"""SoftmaxProbe minimises scikit-learn's LogisticRegression objective: same coefficients, same predictions."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from hf_replearn.evaluation import probe
from hf_replearn.evaluation.logistic import SoftmaxProbe


def correlated_classes(n, seed, d=30, classes=4):
    """Overlapping Gaussian classes seen through a random mixing matrix: strongly correlated features, as
    pooled stage maps are (the case the whitened coordinates are for)."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(d, d)) + 3 * np.ones((d, d)) / d**0.5
    centres = np.random.default_rng(98).normal(size=(classes, d))
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.normal(size=(n, d)) * 1.5) @ mixing
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32), y


def objective(clf, x, y, C):
    """scikit-learn's multinomial objective: mean log loss + ||W||^2 / (2 C n)."""
    from scipy.special import logsumexp

    z = x.astype(np.float64) @ clf.coef_.T.astype(np.float64) + clf.intercept_
    return (logsumexp(z, 1) - z[np.arange(len(y)), y]).mean() + (clf.coef_.astype(np.float64) ** 2).sum() / (2 * C * len(y))


@pytest.mark.parametrize("C", [1.0, 0.05])
def test_same_minimiser_as_scikit_learn(C):
    (x, y), (xt, yt) = correlated_classes(800, 0), correlated_classes(2000, 1)
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=20000).fit(x, y)
    ours = SoftmaxProbe(C=C, tol=1e-7).fit(x, y)
    # W is unique (strictly convex in W); b only up to a common shift (softmax), so compare centred intercepts
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=2e-3 * scale)
    np.testing.assert_allclose(ours.intercept_ - ours.intercept_.mean(), reference.intercept_ - reference.intercept_.mean(),
                               atol=2e-3 * scale)  # fmt: skip
    assert objective(ours, x, y, C) == pytest.approx(objective(reference, x, y, C), rel=1e-6)
    accuracy = lambda clf: (clf.predict(xt) == yt).mean()  # noqa: E731
    assert abs(accuracy(ours) - accuracy(reference)) <= 1e-3
    assert 0.5 < accuracy(ours) < 0.99  # overlapping classes: the optimum, not separability, decides


def test_labels_come_back_as_given():
    x, y = correlated_classes(300, 2, classes=3)
    names = np.array(["coat", "shirt", "bag"])[y]
    assert set(SoftmaxProbe().fit(x, names).predict(x)) <= {"coat", "shirt", "bag"}
    np.testing.assert_array_equal(SoftmaxProbe().fit(x, y + 7).predict(x), SoftmaxProbe().fit(x, y).predict(x) + 7)


def test_large_probes_take_the_preconditioned_solver(monkeypatch):
    (x, y), (xt, yt) = correlated_classes(1500, 3), correlated_classes(1500, 4)
    small = probe.linear_probe_accuracy(x, y, xt, yt)  # scikit-learn's lbfgs, tol 1e-4
    fits = []
    monkeypatch.setattr(probe, "LARGE_PROBLEM", 1)
    monkeypatch.setattr(probe, "SoftmaxProbe", lambda **kw: fits.append(kw) or SoftmaxProbe(**kw))
    large = probe.linear_probe_accuracy(x, y, xt, yt)
    assert fits == [{"max_iter": 1000}]
    assert abs(large - small) <= 2e-3  # within the tolerance scikit-learn stops at
