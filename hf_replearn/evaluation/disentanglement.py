"""Disentanglement of a representation against known generative factors: the mutual information gap.

Chen, Li, Grosse, Duvenaud, "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018, Eq. (3):

    MIG = 1/K sum_k 1/H(v_k) ( I(z_{j(k)}; v_k) - max_{j != j(k)} I(z_j; v_k) ),   j(k) = argmax_j I(z_j; v_k)

for factors v_1..v_K and latents z_1..z_L: the gap between the two latents most informative about each
factor, normalised by the factor's entropy. 1 when each factor lives in exactly one latent, near 0 when
factors are spread over latents or not captured. Mutual information is estimated, as in the
disentanglement_lib reference protocol (Locatello et al. 2019), by discretising each latent into 20 equal
bins over its range.
"""

from __future__ import annotations

import numpy as np


def discretize(latents: np.ndarray, bins: int = 20) -> np.ndarray:
    """(N, L) floats -> (N, L) integer bins, equal-width over each column's range."""
    out = np.zeros(latents.shape, dtype=np.int64)
    for j in range(latents.shape[1]):
        edges = np.histogram_bin_edges(latents[:, j], bins=bins)
        out[:, j] = np.digitize(latents[:, j], edges[1:-1])
    return out


def mutual_information_matrix(latents: np.ndarray, factors: np.ndarray, bins: int = 20) -> np.ndarray:
    """(L, K) matrix of I(z_j; v_k) in nats."""
    from sklearn.metrics import mutual_info_score

    codes = discretize(latents, bins)
    return np.array([[mutual_info_score(factors[:, k], codes[:, j]) for k in range(factors.shape[1])]
                     for j in range(codes.shape[1])])  # fmt: skip


def mutual_information_gap(latents: np.ndarray, factors: np.ndarray, bins: int = 20) -> dict[str, float]:
    """MIG overall and per factor (``mig``, ``mig/<k>``). Needs at least two latents."""
    from sklearn.metrics import mutual_info_score

    if latents.ndim != 2 or latents.shape[1] < 2:
        raise ValueError(f"MIG needs at least two latent dimensions, got latents of shape {latents.shape}")
    if len(latents) != len(factors):
        raise ValueError(f"latents ({len(latents)} rows) and factors ({len(factors)} rows) must align row by row")
    mi = mutual_information_matrix(latents, factors, bins)  # (L, K)
    out = {}
    for k in range(factors.shape[1]):
        entropy = mutual_info_score(factors[:, k], factors[:, k])
        top = np.sort(mi[:, k])[::-1]
        out[f"mig/{k}"] = float((top[0] - top[1]) / entropy) if entropy > 0 else 0.0
    out["mig"] = float(np.mean([out[f"mig/{k}"] for k in range(factors.shape[1])]))
    return out
