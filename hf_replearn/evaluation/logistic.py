"""L2-regularised logistic regression for the probes' large fits: scikit-learn's objective, fewer passes.

The objective is ``LogisticRegression(C=C)``'s with its default lbfgs solver, for K classes and n rows x_i:

    f(W, b) = (1/n) sum_i CE(W^T x_i + b, y_i) + ||W||^2 / (2 C n)

(multinomial cross-entropy for K > 2, the logistic loss on one column for K = 2; the intercept b is not
penalised), stopped like scikit-learn's: when every partial derivative is at most ``tol`` in absolute value.

Why not scikit-learn itself: on every training label (60,000 rows of 3,072 standardised, strongly correlated
features) its L-BFGS needs 800 to 1,000 iterations, each a pass over the data, because the curvature of f
follows the features' covariance, whose eigenvalues span several decades. Here the same L-BFGS (torch's) runs
in whitened coordinates: W = P V with P = U (Lambda + eps mean(Lambda))^-1/2, U Lambda U^T the features'
second-moment matrix (f and its optimum do not depend on P; how fast L-BFGS gets there does, and P from a
subsample of 10,000 rows took three times the passes of P from all rows on 60,000 x 3,072). In V the data
term's curvature is close to isotropic, and L-BFGS converges in about a tenth of the passes. Each pass is two float32 matrix products on the process's torch threads.
No library offers this: scikit-learn's solvers take no preconditioner, and its newton-cholesky would build
a (d K)^2 Hessian.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

EPS = 1e-3
"""Eigenvalues of the second-moment matrix are floored at EPS times their mean before the inverse square root,
so that directions without variance (a dead feature) are not scaled without bound."""


class LogisticRegressionL2:
    """``fit`` / ``predict`` like scikit-learn's ``LogisticRegression(C, tol, max_iter)`` on dense features.

    ``coef_`` (K or 1 rows, d columns), ``intercept_``, ``classes_`` and ``n_iter_`` as scikit-learn names them.
    """

    def __init__(self, C: float = 1.0, tol: float = 1e-4, max_iter: int = 1000, history: int = 20):
        self.C, self.tol, self.max_iter, self.history = C, tol, max_iter, history

    def fit(self, x, y) -> "LogisticRegressionL2":
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"logistic regression needs at least 2 classes, got {len(self.classes_)}")
        X = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        n, d = X.shape
        outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        targets = torch.from_numpy(codes.astype(np.int64))
        binary_targets = targets.double()
        strength = 1.0 / (self.C * n)
        P = _whitening(X)
        V = torch.zeros(d, outputs, requires_grad=True)
        b = torch.zeros(outputs, requires_grad=True)
        state = {"gmax": np.inf}

        def closure():
            # Gradients by hand: autograd's backward of X @ W multiplies by a transposed X, ten times slower here
            # than G^T X with X in its own layout.
            with torch.no_grad():
                W = P @ V
                # the products in float32, the loss in float64: the line search compares losses that differ in
                # their eighth digit near the optimum
                logits = torch.nn.functional.linear(X, W.T.contiguous(), b).double()
                if outputs == 1:
                    z = logits[:, 0]
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, binary_targets)
                    residual = (torch.sigmoid(z) - binary_targets).unsqueeze(1) / n
                else:
                    loss = torch.nn.functional.cross_entropy(logits, targets)
                    residual = torch.softmax(logits, dim=1)
                    residual[torch.arange(n), targets] -= 1
                    residual /= n
                grad_W = (residual.T.float().contiguous() @ X).T + strength * W
                grad_b = residual.sum(0)
                V.grad, b.grad = P.T @ grad_W, grad_b.float()
                state["gmax"] = max(grad_W.abs().max().item(), grad_b.abs().max().item())
                return float(loss + 0.5 * strength * (W.double() ** 2).sum())

        # torch's L-BFGS stops on the gradient in V; the stopping rule is scikit-learn's, on the gradient in W, so
        # it runs in short chunks (its history carries over) and the rule is checked between them.
        chunk = 20
        optimizer = torch.optim.LBFGS([V, b], lr=1, max_iter=chunk, max_eval=2 * chunk, tolerance_grad=0,
                                      tolerance_change=0, history_size=self.history, line_search_fn="strong_wolfe")  # fmt: skip
        iterations, last = 0, np.inf
        while iterations < self.max_iter and state["gmax"] > self.tol:
            optimizer.param_groups[0]["max_iter"] = min(chunk, self.max_iter - iterations)
            start = float(optimizer.step(closure))  # the objective where this chunk started
            iterations = optimizer.state[V]["n_iter"]
            if start >= last:  # a whole chunk without progress: float32's resolution is reached
                break
            last = start
        if state["gmax"] > self.tol:
            warnings.warn(f"logistic regression stopped after {iterations} iterations with a largest partial derivative "
                          f"of {state['gmax']:.2g} (tol {self.tol:g})", ConvergenceWarning, stacklevel=2)  # fmt: skip
        with torch.no_grad():
            self.coef_ = (P @ V).T.numpy().astype(np.float64)
            self.intercept_ = b.numpy().astype(np.float64)
        self.n_iter_ = np.array([iterations])
        return self

    def decision_function(self, x) -> np.ndarray:
        scores = np.asarray(x, dtype=np.float64) @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, x) -> np.ndarray:
        scores = self.decision_function(x)
        return self.classes_[(scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(1)]


def _whitening(X: torch.Tensor) -> torch.Tensor:
    """P = U (Lambda + EPS mean(Lambda))^-1/2 from the second moments of X's rows."""
    second = (X.T @ X).double() / len(X)
    eigenvalues, eigenvectors = torch.linalg.eigh(second)
    eigenvalues = eigenvalues.clamp_min(0)
    return (eigenvectors * (eigenvalues + EPS * eigenvalues.mean().clamp_min(1e-12)).rsqrt()).float()
