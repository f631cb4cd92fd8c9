"""Flatness searches recover known answers on a synthetic classifier; error bars cover the truth."""
import math

import pytest
import torch
from scipy.stats import norm
from torch import nn
import torch.nn.functional as F

from dlscope.measure import keskar_sharpness, pacbayes_mag_sigma, pacbayes_sigma, worst_case_sharpness
from helpers import state_fingerprint

W = 2.0


def synthetic(n=8):
    """logits = [w₀x, w₁x] with w = (W, 0), x > 0, y = 0: correct iff W + u₀ − u₁ > 0.

    Under u ~ N(0, σ²I): E acc = Φ(W / (√2 σ)), so E acc ≥ 1 − 0.1 exactly up to σ* = W / (√2 Φ⁻¹(0.9)).
    """
    net = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[W], [0.0]]))
    x = torch.linspace(0.5, 1.5, n)[:, None]
    return net, x, torch.zeros(n, dtype=torch.long)


SIGMA_STAR = W / (math.sqrt(2) * norm.ppf(0.9))


def test_pacbayes_sigma_recovers_known_sigma():
    net, x, y = synthetic()
    r = pacbayes_sigma(net, x, y, samples=400, seed=1, rel_tol=1e-3)
    assert r.extra["converged"] and r.extra["acc"] == 1.0
    assert 0 < r.stderr < 0.1 * SIGMA_STAR
    assert abs(r.value - SIGMA_STAR) < 4 * r.stderr + 2e-3 * SIGMA_STAR
    assert r.settings["seed"] == 1 and r.settings["sigma_convention"] == "standard deviation"


def test_pacbayes_sigma_error_bars_cover_truth():
    hits = 0
    for seed in range(20):
        net, x, y = synthetic(2)
        r = pacbayes_sigma(net, x, y, samples=100, seed=seed, rel_tol=1e-3)
        hits += abs(r.value - SIGMA_STAR) <= 2 * r.stderr
    assert hits >= 15  # nominal ~95 %; 15/20 leaves room for the delta method's approximation


def test_pacbayes_sigma_is_reproducible_with_seed():
    net, x, y = synthetic()
    a = pacbayes_sigma(net, x, y, samples=20, seed=5)
    b = pacbayes_sigma(net, x, y, samples=20, seed=5)
    c = pacbayes_sigma(net, x, y, samples=20, seed=6)
    assert a.value == b.value and a.stderr == b.stderr and a.value != c.value


def test_magnitude_aware_sigma_recovers_known_sigma():
    # u₀ ~ N(0, σ²W² + ε²), u₁ ~ N(0, ε²): E acc = Φ(W / √(σ²W² + 2ε²)).
    eps = 0.3
    z = norm.ppf(0.9)
    star = math.sqrt(1 / z ** 2 - 2 * eps ** 2 / W ** 2)
    net, x, y = synthetic()
    r = pacbayes_mag_sigma(net, x, y, samples=400, seed=2, eps=eps, rel_tol=1e-3)
    assert abs(r.value - star) < 4 * r.stderr + 2e-3 * star


def test_worst_case_sharpness_recovers_half_the_weight():
    # In the box |u_i| ≤ α the worst logit gap is W − 2α: every point flips once α > W/2.
    net, x, y = synthetic()
    r = worst_case_sharpness(net, x, y, steps=5, rel_tol=1e-3)
    assert r.value == pytest.approx(W / 2, rel=2e-3)
    assert r.stderr is None


def test_keskar_full_space_matches_closed_form():
    net, x, y = synthetic()
    eps = 1e-2
    f = lambda gap: float(F.softplus(-gap * x[:, 0]).mean())  # noqa: E731 (CE of two logits)
    f0 = f(W)
    worst = f(W - eps * (W + 1) - eps * (0 + 1))  # corner: u₀ = −ε(|W|+1), u₁ = +ε(|0|+1)
    r = keskar_sharpness(net, x, y, eps=eps, steps=10)
    assert r.value == pytest.approx(100 * (worst - f0) / (1 + f0), rel=1e-5)


def test_keskar_subspace_is_seeded_and_bounded_by_its_box():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    x, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    a = keskar_sharpness(net, x, y, subspace_dim=5, seed=0)
    b = keskar_sharpness(net, x, y, subspace_dim=5, seed=0)
    full = keskar_sharpness(net, x, y)
    assert a.value == b.value and a.value >= 0 and full.value > 0


def test_flatness_instruments_leave_model_bit_identical():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    x, y = torch.randn(30, 3), torch.randint(0, 2, (30,))
    net(x).sum().backward()
    before = state_fingerprint(net)
    pacbayes_sigma(net, x, y, samples=3)
    worst_case_sharpness(net, x, y, steps=2)
    keskar_sharpness(net, x, y, steps=2, subspace_dim=3)
    after = state_fingerprint(net)
    for k in before:
        assert (torch.equal(before[k], after[k]) if isinstance(before[k], torch.Tensor) else before[k] == after[k]), k
