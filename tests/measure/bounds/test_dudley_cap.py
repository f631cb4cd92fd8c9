"""Issue 14 item 8: the Rademacher term of the spectral bound is capped at 1/2 (a [0,1]-valued
class), the uncapped Dudley value and the unsaturated complexity term 𝓡/n are reported beside it.
Fails on d1e8aa0 (2ℜ = 8 for every saturated net, no complexity term)."""
import math

import pytest
import torch
from torch import nn

from dlscope.measure import spectral_complexity, spectral_margin_bound


def _net(scale):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU(), nn.Linear(6, 3, bias=False)).double()
    with torch.no_grad():
        net[2].weight.mul_(scale)
    return net


def test_saturated_dudley_is_capped_and_the_complexity_term_still_orders_nets():
    x, y = torch.randn(200, 4, dtype=torch.float64), torch.randint(0, 3, (200,))
    out = []
    for scale in (1.0, 4.0):  # R_A ×4 (the grid of base 2 keeps it exact) at the same γ: 𝓡 ×4
        net = _net(scale)
        b = spectral_margin_bound(net, x, y, gamma=0.5, grid_base=2.0)
        assert b.extra["dudley"] == pytest.approx(4.0)  # α = √n: the integral has saturated
        assert b.extra["rademacher"] == 0.5 and b.extra["rademacher_capped"] is True
        assert b.value == pytest.approx(b.extra["margin_error"] + 1.0 + b.extra["confidence"], rel=1e-12)
        assert b.value <= 2.0 + b.extra["confidence"]  # R̂ ≤ 1 and 2ℜ ≤ 1: no longer ≈ 8 + R̂ + confidence
        assert b.extra["complexity_term"] == pytest.approx(b.extra["covering_radius"] / 200, rel=1e-12)
        out.append(b)
    # both bounds sit at the cap; the complexity term still tells the two nets apart
    assert out[1].extra["complexity_term"] == pytest.approx(4 * out[0].extra["complexity_term"], rel=1e-9)


def test_unsaturated_dudley_is_reported_as_computed():
    net = _net(1.0)
    n = 10_000
    x, y = 1e-4 * torch.randn(n, 4, dtype=torch.float64), torch.randint(0, 3, (n,))
    c = spectral_complexity(net, (4,))
    b = spectral_margin_bound(net, x, y, gamma=1e-3, grid_base=2.0, complexity=c)
    big_r = b.extra["covering_radius"]
    assert 3 * big_r / math.sqrt(n) < math.sqrt(n)  # not saturated
    alpha = 3 * big_r / math.sqrt(n)
    dudley = 4 * alpha / math.sqrt(n) + 12 * big_r / n * math.log(math.sqrt(n) / alpha)
    assert b.extra["dudley"] == pytest.approx(dudley, rel=1e-12)
    assert b.extra["rademacher"] == pytest.approx(min(dudley, 0.5), rel=1e-12)
