import numpy as np
import pytest

from hf_replearn.evaluation.disentanglement import mutual_information_gap


def factors(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, 3, n), rng.integers(0, 6, n), rng.integers(0, 8, n)], axis=1)


def test_one_latent_per_factor_gives_mig_one():
    v = factors()
    rng = np.random.default_rng(1)
    latents = np.concatenate([v + 0.01 * rng.normal(size=v.shape), rng.normal(size=(len(v), 2)) * 1e-3], axis=1)
    assert mutual_information_gap(latents, v)["mig"] == pytest.approx(1.0, abs=0.02)


def test_noise_and_entangled_latents_score_low():
    v = factors()
    rng = np.random.default_rng(2)
    assert mutual_information_gap(rng.normal(size=(len(v), 4)), v)["mig"] < 0.05
    # every factor copied into two latents: the gap between the best two is zero
    duplicated = np.concatenate([v, v], axis=1).astype(float)
    assert mutual_information_gap(duplicated, v)["mig"] == pytest.approx(0.0, abs=1e-9)


def test_rotated_latents_score_between():
    v = factors().astype(float)
    v = (v - v.mean(0)) / v.std(0)
    mixed = v @ np.array([[1, 1, 0], [1, -1, 0], [0, 0, 1]], dtype=float) / np.sqrt([2, 2, 1])
    r = mutual_information_gap(mixed, factors())
    assert 0.2 < r["mig"] < 0.8 and r["mig/2"] > 0.9


def test_errors():
    with pytest.raises(ValueError, match="at least two latent"):
        mutual_information_gap(np.zeros((5, 1)), np.zeros((5, 2), int))
