"""near_identity_factorization: the product, the norms (closed forms for rotations and diagonals), the
O(1/m) rate, and one-line errors."""
import math

import numpy as np
import pytest
import torch
from oracles import spectral_norm

from dlscope.theory import factorization_summary, near_identity_factorization, product


def rotation(theta):
    return torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]], dtype=torch.float64)


def random_positive(d, seed):
    A = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if torch.det(A) < 0:
        A[0] = -A[0]
    return A


@pytest.mark.parametrize("d,seed", [(2, 0), (3, 1), (5, 2), (8, 3)])
@pytest.mark.parametrize("m", [1, 2, 7, 64, 256])
def test_product_and_norms(d, seed, m):
    A = random_positive(d, seed)
    factors = near_identity_factorization(A, m)
    assert len(factors) == m and all(F.dtype == torch.float64 for F in factors)
    assert float(torch.linalg.matrix_norm(product(factors) - A, 2)) <= 1e-10 * max(1, spectral_norm(A))
    norms = [spectral_norm(F) for F in factors]
    assert max(norms) - min(norms) <= 1e-10  # orthogonal conjugates of one matrix
    s = factorization_summary(A, m)
    assert s["max_norm"] == pytest.approx(max(norms), abs=1e-12)
    assert s["max_norm"] <= s["bound"] * (1 + 1e-12)  # e^{γ/m}(θ_max + γ)/m
    if m == 1:
        assert torch.allclose(factors[0], A - torch.eye(d, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("theta", [0.3, 2.0, math.pi - 1e-3])
def test_rotation_factors_are_rotations_by_theta_over_m(theta):
    for m in (1, 3, 50):
        factors = near_identity_factorization(rotation(theta), m)
        for F in factors:  # I + A_k = R(θ/m) exactly, so ‖A_k‖ = 2 sin(θ/2m)
            assert torch.allclose(torch.eye(2, dtype=torch.float64) + F, rotation(theta / m), atol=1e-12)
        assert spectral_norm(factors[0]) == pytest.approx(2 * math.sin(theta / (2 * m)), rel=1e-10)


def test_minus_identity_is_a_rotation_by_pi():
    A = -torch.eye(4, dtype=torch.float64)
    for m in (1, 2, 100):
        s = factorization_summary(A, m)
        assert s["product_error"] <= 1e-12 and s["theta_max"] == pytest.approx(math.pi)
        assert s["max_norm"] == pytest.approx(2 * math.sin(math.pi / (2 * m)), rel=1e-10)


def test_diagonal_positive_factors_are_roots():
    A = torch.diag(torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64))
    factors = near_identity_factorization(A, 8)
    want = torch.diag(torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64) ** (1 / 8)) - torch.eye(3, dtype=torch.float64)
    assert all(torch.allclose(F, want, atol=1e-12) for F in factors)


def test_rate_is_one_over_m():
    ms = [2 ** k for k in range(9)]
    for A in (random_positive(6, 7), rotation(math.pi - 0.01)):
        norms = [factorization_summary(A, m)["max_norm"] for m in ms]
        slope = np.polyfit(np.log(ms), np.log(norms), 1)[0]
        assert -1.1 <= slope <= -0.9, slope
        assert max(m * n for m, n in zip(ms, norms)) <= 2 * ms[-1] * norms[-1]  # m·max‖A_i‖ stays bounded


@pytest.mark.parametrize("A,msg", [(torch.diag(torch.tensor([1.0, -2.0])), "det A"), (torch.zeros(3, 3), "det A"),
                                   (torch.ones(2, 3), "square"), (torch.tensor([[float("nan")]]), "non-finite")])
def test_errors_are_one_line(A, msg):
    with pytest.raises(ValueError, match=msg) as e:
        near_identity_factorization(A, 4)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("m", [0, -1, 2.5, True])
def test_bad_m(m):
    with pytest.raises(ValueError, match="m must be"):
        near_identity_factorization(torch.eye(2), m)
