"""Multinomial logistic regression for the probe with every label: scikit-learn's objective, preconditioned.

The objective is scikit-learn's ``LogisticRegression()`` (multinomial, L2, C, an unpenalised intercept):

    f(W, b) = 1/n sum_i [ log sum_k exp(x_i . w_k + b_k) - (x_i . w_{y_i} + b_{y_i}) ] + 1/(2 C n) ||W||^2

    X: (n, d) standardised features, W: (d, K), b: (K,)

It is strictly convex, so every solver that converges finds the same W, b and the same test accuracy. What
differs is the path: on 60,000 x 3,072 pooled stage maps, whose features are strongly correlated, plain
L-BFGS (scikit-learn's lbfgs) needs hundreds of passes over X. Here scipy's L-BFGS-B runs on the same
objective in whitened coordinates W = L^-T V, with L L^T = X_s^T X_s / m + lambda I the Cholesky factor of
the features' second moment on a subsample X_s (m rows) plus the ridge lambda = 1 / (C n): in V the
correlations between features no longer stretch the Hessian, which is what slows L-BFGS on them (on the
well-conditioned 64 pixels of digits both take the same ~75 iterations). The change of variables moves the
path, not the minimiser. scikit-learn has no preconditioned solver for this problem,
so the coordinates (and the loss in torch, whose matrix products use the process's thread count) are
written here; ``scipy.optimize.minimize`` does the optimisation itself.
"""

from __future__ import annotations

import numpy as np
import torch

PRECONDITIONER_ROWS = 10_000
"""Rows of the subsample whose second moment whitens the coordinates (a good preconditioner need not be exact)."""


class SoftmaxProbe:
    """``fit(X, y)`` / ``predict(X)`` like scikit-learn's ``LogisticRegression(C=C)``, minimised to ``tol``.

    ``tol``: the largest gradient component in the whitened coordinates at which L-BFGS stops (scikit-learn's
    ``gtol`` meaning, in better-scaled coordinates); ``max_iter`` caps the iterations.
    """

    def __init__(self, C: float = 1.0, tol: float = 1e-5, max_iter: int = 1000, seed: int = 0):
        self.C, self.tol, self.max_iter, self.seed = C, tol, max_iter, seed

    def fit(self, X, y) -> SoftmaxProbe:
        from scipy.optimize import minimize

        X = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        n, d = X.shape
        K = len(self.classes_)
        onehot = torch.nn.functional.one_hot(torch.as_tensor(codes), K).to(torch.float32)  # (n, K)
        lam = 1.0 / (self.C * n)
        L = self._whitener(X, lam)  # (d, d) lower triangular, float64

        def weights(v: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            V = torch.from_numpy(v[: d * K].reshape(d, K))
            W = torch.linalg.solve_triangular(L.T, V, upper=True)  # W = L^-T V: (d, K)
            return W, torch.from_numpy(v[d * K :])

        def loss_grad(v: np.ndarray):
            W, b = weights(v)
            logits = X @ W.to(torch.float32) + b.to(torch.float32)  # (n, d) x (d, K) -> (n, K)
            lse = torch.logsumexp(logits, dim=1, keepdim=True)  # (n, 1)
            loss = (lse.double().sum() - (logits * onehot).double().sum()) / n + 0.5 * lam * (W * W).sum()
            G = (torch.exp(logits - lse) - onehot) / n  # d loss / d logits = softmax - onehot: (n, K)
            grad_W = (X.T @ G).double() + lam * W  # (d, K)
            grad_V = torch.linalg.solve_triangular(L, grad_W, upper=False)  # d f / d V = L^-1 grad_W
            return float(loss), np.concatenate([grad_V.numpy().ravel(), G.double().sum(0).numpy()])

        result = minimize(loss_grad, np.zeros(d * K + K), jac=True, method="L-BFGS-B",
                          options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps, "maxls": 50})
        W, b = weights(result.x)
        self.coef_, self.intercept_ = W.T.numpy().astype(np.float32), b.numpy().astype(np.float32)
        self.n_iter_ = result.nit
        return self

    def _whitener(self, X: torch.Tensor, lam: float) -> torch.Tensor:
        rows = np.random.default_rng(self.seed).permutation(len(X))[:PRECONDITIONER_ROWS]
        S = X[torch.from_numpy(np.sort(rows))]  # (m, d) float32: the product is the costly step, and a preconditioner
        moment = (S.T @ S).double() / len(S) + lam * torch.eye(X.shape[1], dtype=torch.float64)  # need not be exact: (d, d)
        return torch.linalg.cholesky(moment)

    def decision_function(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        return X @ self.coef_.T + self.intercept_

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(1)]
