"""Stochastic Lanczos quadrature against exact spectra."""
import numpy as np
import pytest
import torch

from oracles import dense_hessian
from cases import CASES
from dlscope.measure import hessian, negative_fraction, spectral_density


def spectrum_matrix(eigs, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    return torch.tensor(Q @ np.diag(eigs) @ Q.T)


EIGS = np.concatenate([[20.0, 12.0, 6.0], np.random.default_rng(4).normal(0.2, 1.0, 97)])
A = spectrum_matrix(EIGS)


def test_density_integrates_to_one_and_weights_are_probabilities():
    r = spectral_density(A, lanczos_steps=20, num_probes=5, seed=0)
    assert abs(r.extra["integral"] - 1) <= 1e-6
    assert np.allclose(r.extra["weights"].sum(1), 1, atol=1e-12)
    assert np.all(r.extra["weights"] >= 0)
    assert r.extra["nodes"].shape == (5, 20) and len(r.value) == len(r.extra["grid"])


def test_moments_match_the_exact_spectrum():
    # Gauss quadrature with m nodes is exact for degree ≤ 2m − 1, so each probe's k-th moment
    # is qᵀHᵏq exactly and the probe average is an unbiased estimate of tr(Hᵏ)/n.
    r = spectral_density(A, lanczos_steps=3, num_probes=200, seed=1)
    exact = [np.mean(EIGS ** k) for k in range(1, 5)]
    for k in range(4):
        assert abs(r.extra["moments"][k] - exact[k]) <= 4 * r.extra["moments_stderr"][k], k
    # With at least n steps the nodes are the eigenvalues themselves.
    small = np.array([3.0, 1.0, -0.5, -2.0, 0.25, 4.0])
    full = spectral_density(spectrum_matrix(small), lanczos_steps=10, num_probes=3)
    assert np.allclose(np.sort(full.extra["nodes"][0]), np.sort(small), atol=1e-10)


def test_negative_fraction_covers_the_exact_index():
    # With n steps each probe's fraction qᵀ1[H<0]q is exact, so only the probe noise remains
    # and the stderr must cover it (t with 9 degrees of freedom: |z| ≤ 2 about 92%).
    exact = np.mean(EIGS < 0)
    zs = []
    for seed in range(30):
        r = spectral_density(A, lanczos_steps=len(EIGS), num_probes=10, seed=seed)
        zs.append((r.extra["negative_fraction"] - exact) / r.extra["negative_fraction_stderr"])
    zs = np.array(zs)
    assert np.mean(np.abs(zs) <= 2) >= 0.8, zs
    assert abs(zs.mean()) <= 4 / np.sqrt(len(zs)) * zs.std()
    # Fewer steps add a quadrature bias (the step function is not a polynomial): small here.
    short = spectral_density(A, lanczos_steps=40, num_probes=40, seed=0)
    assert abs(short.extra["negative_fraction"] - exact) <= 0.05
    nf = negative_fraction(r, threshold=1.0)
    assert nf.settings["threshold"] == 1.0 and nf.value < r.extra["negative_fraction"]


@pytest.mark.parametrize("name", ["mlp", "bn_net"])
def test_density_of_a_network_hessian(name):
    case = CASES[name]()
    H = dense_hessian(case).numpy()
    eigs = np.linalg.eigvalsh(H)
    r = spectral_density(hessian(case.model, case.loss_fn, case.batches), lanczos_steps=12, num_probes=40, seed=0)
    assert abs(r.extra["integral"] - 1) <= 1e-6
    assert abs(r.extra["moments"][0] - eigs.mean()) <= 4 * r.extra["moments_stderr"][0]
    assert abs(r.extra["moments"][1] - np.mean(eigs ** 2)) <= 4 * r.extra["moments_stderr"][1]
    assert r.extra["nodes"].min() >= eigs.min() - 1e-9 and r.extra["nodes"].max() <= eigs.max() + 1e-9
    assert r.settings["method"] == "slq" and r.settings["bn_mode"] in ("none", "eval")
