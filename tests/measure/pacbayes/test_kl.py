"""Bernoulli kl, its inverse and the KL of diagonal Gaussians against closed forms and brute force."""
import math

import numpy as np
import pytest
import torch
from oracles import dense_gaussian_kl, kl_inverse_grid

from dlscope.measure import gaussian_kl, kl_bernoulli, kl_inverse


def test_kl_bernoulli_closed_forms():
    assert kl_bernoulli(0.3, 0.3) == 0.0
    assert kl_bernoulli(0.0, 0.2) == pytest.approx(-math.log(0.8), rel=1e-15)
    assert kl_bernoulli(1.0, 0.2) == pytest.approx(-math.log(0.2), rel=1e-15)
    assert kl_bernoulli(0.1, 1.0) == math.inf and kl_bernoulli(0.1, 0.0) == math.inf
    q, p = 0.27, 0.61
    assert kl_bernoulli(q, p) == pytest.approx(q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p)), rel=1e-15)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kl_bernoulli(1.2, 0.5)


@pytest.mark.parametrize("c", [1e-6, 0.01, 0.5, 3.0, 40.0])
def test_kl_inverse_at_zero_is_one_minus_exp(c):
    assert kl_inverse(0.0, c) == pytest.approx(1 - math.exp(-c), abs=1e-12)


@pytest.mark.parametrize("q", [0.0, 0.03, 0.5, 0.97])
def test_kl_inverse_closed_edges(q):
    assert kl_inverse(q, 0.0) == q
    assert kl_inverse(1.0, 0.3) == 1.0
    assert kl_inverse(q, math.inf) == 1.0


@pytest.mark.parametrize("q,c", [(0.01, 1e-4), (0.03, 0.02), (0.1, 0.1), (0.3, 0.05), (0.7, 1.0), (0.95, 0.2)])
def test_kl_inverse_to_1e9_and_on_the_safe_side(q, c):
    p = kl_inverse(q, c)
    # the sup: kl(q‖p) reaches c at p, and 1e-9 below p it is still ≤ c (never an undercut)
    assert kl_bernoulli(q, p) >= c - 1e-12
    assert kl_bernoulli(q, p - 1e-9) <= c
    brute, step = kl_inverse_grid(q, c)
    assert brute <= p <= brute + step + 1e-12


def test_kl_inverse_is_monotone():
    cs = np.linspace(0, 2, 41)
    ps = [kl_inverse(0.1, c) for c in cs]
    assert all(b > a for a, b in zip(ps, ps[1:]))
    qs = np.linspace(0, 0.9, 31)
    ps = [kl_inverse(q, 0.05) for q in qs]
    assert all(b > a for a, b in zip(ps, ps[1:]))


def test_kl_inverse_errors_are_one_line():
    with pytest.raises(ValueError, match="q in"):
        kl_inverse(-0.1, 0.1)
    with pytest.raises(ValueError, match="c ≥ 0"):
        kl_inverse(0.1, -1.0)


def test_gaussian_kl_against_the_dense_formula():
    g = torch.Generator().manual_seed(0)
    mq, mp = torch.randn(7, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
    vq = torch.rand(7, generator=g, dtype=torch.float64) + 0.1
    vp = torch.rand(7, generator=g, dtype=torch.float64) + 0.1
    assert gaussian_kl(mq, vq, mp, vp) == pytest.approx(dense_gaussian_kl(mq, vq, mp, vp), rel=1e-12)
    # isotropic prior given as a scalar variance, broadcast
    assert gaussian_kl(mq, vq, mp, 0.3) == pytest.approx(dense_gaussian_kl(mq, vq, mp, 0.3), rel=1e-12)
    assert gaussian_kl(mq, vq, mq, vq) == pytest.approx(0.0, abs=1e-14)


def test_gaussian_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(1)
    mq, vq = torch.tensor([0.2, -0.5, 1.0], dtype=torch.float64), torch.tensor([0.5, 0.1, 2.0], dtype=torch.float64)
    mp, vp = torch.zeros(3, dtype=torch.float64), torch.tensor(0.8, dtype=torch.float64)
    th = mq + vq.sqrt() * torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    logq = -0.5 * ((th - mq) ** 2 / vq + torch.log(2 * math.pi * vq)).sum(1)
    logp = -0.5 * ((th - mp) ** 2 / vp + torch.log(2 * math.pi * vp)).sum(1)
    est, se = float((logq - logp).mean()), float((logq - logp).std() / math.sqrt(len(th)))
    assert abs(gaussian_kl(mq, vq, mp, vp) - est) < 4 * se


def test_gaussian_kl_rejects_nonpositive_variances():
    with pytest.raises(ValueError, match="positive"):
        gaussian_kl([0.0], [0.0], [0.0], [1.0])
