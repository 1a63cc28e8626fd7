"""The logistic probe with its regularisation chosen on the few labels themselves, never on the test split.

A probe's accuracy depends on C (the inverse L2 strength), most with few labels: the fixed C = 1 of
``probe.linear_probe_accuracy`` is one point of that curve. Here C is picked from a grid by stratified k-fold
cross-validation on the labelled subset (k = min(5, smallest class count), accuracy averaged over folds,
the first best C on ties, as scikit-learn's GridSearchCV does), then the probe is refit on the whole subset.
"""

from __future__ import annotations

import numpy as np


CV_GRID = tuple(float(c) for c in np.logspace(-4, 4, 9))
"""C values the cross-validated probe tries: 1e-4 .. 1e4, a decade apart (C = 1 is the fixed probe's)."""


def cv_folds(train_y, seed: int):
    """Stratified k-fold with k = min(5, smallest class count), seeded; None below 2 examples per class."""
    from sklearn.model_selection import StratifiedKFold

    smallest = int(np.unique(train_y, return_counts=True)[1].min())
    return StratifiedKFold(n_splits=min(5, smallest), shuffle=True, random_state=seed) if smallest >= 2 else None


def cv_linear_probe(train_x, train_y, test_x, test_y, max_iter: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """(test accuracy, chosen C): C picked by cross-validated accuracy on the training labels only, then refit on all
    of them; None when a class has fewer than 2 examples (no fold could hold it out)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    folds = cv_folds(train_y, seed)
    if folds is None:
        return None
    search = GridSearchCV(LogisticRegression(max_iter=max_iter), {"C": list(CV_GRID)}, cv=folds, scoring="accuracy")
    search.fit(train_x, train_y)
    return float((search.predict(test_x) == test_y).mean()), float(search.best_params_["C"])
