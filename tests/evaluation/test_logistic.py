import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from hf_replearn.evaluation.logistic import LogisticRegressionL2


def correlated(n, d, classes, seed, spread=3.0):
    """Standardised features mixed by a matrix whose singular values span ``spread`` decades, as pooled conv maps
    are correlated; labels from a noisy linear rule (not separable)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    mixing = basis * np.logspace(0, -spread, d)
    x = rng.normal(size=(n, d)) @ mixing.T
    x = (x - x.mean(0)) / x.std(0)
    scores = x @ rng.normal(size=(d, classes)) + rng.gumbel(size=(n, classes))
    return x.astype(np.float32), scores.argmax(1)


def objective(coef, intercept, x, y, C):
    """scikit-learn's lbfgs objective: mean loss + ||W||^2 / (2 C n)."""
    x = x.astype(np.float64)
    if coef.shape[0] == 1:
        z = x @ coef[0] + intercept[0]
        loss = np.mean(np.logaddexp(0, z) - (y == y.max()) * z)
    else:
        logits = x @ coef.T + intercept
        loss = np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), np.searchsorted(np.unique(y), y)])
    return loss + (coef**2).sum() / (2 * C * len(y))


@pytest.mark.parametrize("classes", [2, 4])
def test_same_optimum_as_scikit_learn(classes):
    torch.set_num_threads(1)
    x, y = correlated(1500, 30, classes, seed=classes)
    ours = LogisticRegressionL2(C=0.5, tol=1e-5).fit(x, y)
    ref = LogisticRegression(C=0.5, tol=1e-9, max_iter=20000).fit(x.astype(np.float64), y)
    assert ours.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=2e-3 * np.abs(ref.coef_).max())
    # softmax is unchanged by a constant added to every intercept: compare them centred
    centre = (lambda b: b - b.mean()) if classes > 2 else (lambda b: b)
    np.testing.assert_allclose(centre(ours.intercept_), centre(ref.intercept_), atol=2e-3)
    assert objective(ours.coef_, ours.intercept_, x, y, 0.5) == pytest.approx(objective(ref.coef_, ref.intercept_, x, y, 0.5), rel=1e-5)
    assert (ours.predict(x) == ref.predict(x)).mean() >= 0.995


def test_stops_like_scikit_learn_in_far_fewer_passes_on_correlated_features():
    torch.set_num_threads(1)
    x, y = correlated(4000, 100, 10, seed=0, spread=6.0)
    ours = LogisticRegressionL2(max_iter=1000).fit(x, y)  # scikit-learn's defaults: C = 1, tol = 1e-4
    ref = LogisticRegression(max_iter=1000).fit(x, y)
    # the same stopping rule: every partial derivative of the objective at most tol
    assert ref.n_iter_[0] >= 2 * ours.n_iter_[0]
    ours_f = objective(ours.coef_, ours.intercept_, x, y, 1.0)
    ref_f = objective(ref.coef_, ref.intercept_, x, y, 1.0)
    assert ours_f <= ref_f + 1e-4
    assert (ours.predict(x) == ref.predict(x)).mean() >= 0.98


def test_warns_when_it_stops_short_of_the_tolerance():
    x, y = correlated(500, 10, 3, seed=3)
    with pytest.warns(ConvergenceWarning, match="stopped after 2 iterations"):
        LogisticRegressionL2(max_iter=2).fit(x, y)


def test_predicts_the_given_labels_and_rejects_one_class():
    x, codes = correlated(400, 5, 3, seed=1, spread=0.5)
    labels = np.array([3, 7, 9])[codes]
    model = LogisticRegressionL2().fit(x, labels)
    assert set(np.unique(model.predict(x))) <= {3, 7, 9}
    assert (model.predict(x) == labels).mean() > 0.6
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegressionL2().fit(x, np.zeros(len(x), dtype=int))


def test_a_dead_feature_does_not_break_the_preconditioner():
    x, y = correlated(600, 8, 3, seed=2, spread=1.0)
    x = np.concatenate([x, np.zeros((len(x), 2), dtype=np.float32)], axis=1)  # zero variance after standardising
    model = LogisticRegressionL2(tol=1e-5).fit(x, y)
    assert np.isfinite(model.coef_).all()
    np.testing.assert_allclose(model.coef_[:, -2:], 0, atol=1e-9)
    ref = LogisticRegression(tol=1e-8, max_iter=5000).fit(x.astype(np.float64), y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-2 * np.abs(ref.coef_).max())
