"""Bound values: hand-computed formulas, homogeneity, VC-dimension counting, fat-shattering."""
import math

import pytest
import torch
from torch import nn

from dlscope.measure import (fat_shattering_bound, network_size, piecewise_polynomial_vc_upper,
                             spectral_complexity, spectral_margin_bound, vc_bound, vc_dimension_bounds)
from helpers import state_fingerprint
from dlscope.measure.bounds.vc import log2_sign_patterns

torch.manual_seed(0)


def test_vc_bound_formula_and_vacuous_flag():
    r = vc_bound(100, 10_000, delta=0.05, train_error=0.02)
    expected = 0.02 + math.sqrt(2 * 100 * math.log(math.e * 10_000 / 100) / 10_000) + math.sqrt(math.log(20) / 20_000)
    assert r.value == pytest.approx(expected, rel=1e-12)
    assert r.extra["vacuous"] is False
    big = vc_bound(50_000, 10_000)
    assert big.extra["vacuous"] is True and big.extra["vc_dim_exceeds_n"] is True
    assert big.extra["log_growth"] == pytest.approx(10_000 * math.log(2))
    # 10 classes: 45 pairwise sign nets, capped at n ln 10
    assert vc_bound(100, 10_000, num_classes=10).extra["log_growth"] == pytest.approx(
        min(45 * 100 * math.log(math.e * 100), 10_000 * math.log(10)))


def test_network_size_counts():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(2 * 5 * 5, 1))
    s = network_size(net, (1, 5, 5))
    assert s["p"] == (2 * 9 + 2) + 4 + (50 + 1)
    assert s["L"] == 2 and s["k"] == 2 * 25 + 1
    assert [r["cum_params"] for r in s["layers"]] == [24, 75]


def test_piecewise_bound_is_the_first_m_where_growth_is_below_2_to_the_m():
    cum, units = [13, 25, 30], [4, 3, 1]

    def log2_growth(m):
        degs = [1, 2, 3]
        return sum(log2_sign_patterns(m if i == 2 else m * units[i], degs[i], cum[i]) for i in range(3))

    first = next(m for m in range(1, 100_000) if m > log2_growth(m))
    assert piecewise_polynomial_vc_upper(cum, units) == first - 1


def test_vc_dimension_bound_values():
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 1))
    r = vc_dimension_bounds(net, (5,))
    p, k = 5 * 7 + 7 + 8, 8
    assert r.value["threshold_upper"] == pytest.approx(2 * p * math.log2(math.e * k))
    assert r.value["sigmoid_upper"] == pytest.approx((p * k) ** 2 + 11 * p * k * math.log2(18 * p * k * k))
    assert "piecewise_linear_lower_order" not in r.value  # an order of growth, not a bound (issue 14 item 3)
    # the counting argument is at least the trivial bound's order p and below Baum–Haussler's for this net
    assert p <= r.value["piecewise_linear_upper"] <= r.value["piecewise_polynomial_upper"]


def small_net():
    return nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU(), nn.Linear(6, 3, bias=False))


def test_spectral_margin_bound_is_homogeneous_in_the_output_scale():
    net = small_net()
    x, y = torch.randn(200, 4), torch.randint(0, 3, (200,))
    before = state_fingerprint(net)
    a = spectral_margin_bound(net, x, y, gamma=0.5, grid_base=2.0)
    assert all(torch.equal(before[k], v) if isinstance(v, torch.Tensor) else before[k] == v
               for k, v in state_fingerprint(net).items())
    with torch.no_grad():
        net[2].weight.mul_(4.0)  # margins ×4, R_A ×4, the grid points shift by exactly 2
    b = spectral_margin_bound(net, x, y, gamma=2.0, grid_base=2.0)
    assert b.extra["margin_error"] == a.extra["margin_error"]
    assert b.extra["rademacher"] == pytest.approx(a.extra["rademacher"], rel=1e-9)
    assert b.extra["R_A"] == pytest.approx(4 * a.extra["R_A"], rel=1e-9)


def test_spectral_margin_bound_terms_by_hand():
    net = small_net()
    x, y = torch.randn(100, 4), torch.randint(0, 3, (100,))
    c = spectral_complexity(net, (4,))
    r = spectral_margin_bound(net, x, y, gamma=0.25, grid_base=2.0, delta=0.1, complexity=c)
    n = 100
    rows = c.extra["layers"]
    s = [2.0 ** math.ceil(math.log2(q["spec"])) for q in rows]
    b = [2.0 ** math.ceil(math.log2(q["l21"])) for q in rows]
    r_a = s[0] * s[1] * ((b[0] / s[0]) ** (2 / 3) + (b[1] / s[1]) ** (2 / 3)) ** 1.5
    big_r = (2 / 0.25) * float(x.double().norm()) * math.sqrt(math.log(2 * 6 ** 2)) * r_a
    alpha = min(3 * big_r / math.sqrt(n), math.sqrt(n))
    rad = 4 * alpha / math.sqrt(n) + 12 * big_r / n * math.log(math.sqrt(n) / alpha)
    assert r.extra["dudley"] == pytest.approx(rad, rel=1e-9)
    assert r.extra["rademacher"] == pytest.approx(min(rad, 0.5), rel=1e-9)  # ℜ of a [0,1]-valued class ≤ 1/2
    rad = r.extra["rademacher"]
    assert r.extra["vacuous"] == (r.value > 1)
    assert r.value >= r.extra["margin_error"] + 2 * rad


def two_layer_sigmoid(hidden, act=nn.Tanh):
    return nn.Sequential(nn.Linear(3, hidden), act(), nn.Linear(hidden, 1))


def test_fat_shattering_bound_depends_on_weight_size_not_width():
    net = two_layer_sigmoid(5)
    wide = two_layer_sigmoid(10)
    with torch.no_grad():  # duplicate every hidden unit and halve its output weight: same function, same ‖w‖₁
        wide[0].weight.copy_(torch.cat([net[0].weight] * 2))
        wide[0].bias.copy_(torch.cat([net[0].bias] * 2))
        wide[2].weight.copy_(torch.cat([net[2].weight] * 2, 1) / 2)
        wide[2].bias.copy_(net[2].bias)
    x, y = torch.rand(300, 3) * 2 - 1, torch.randint(0, 2, (300,))
    a, b = fat_shattering_bound(net, x, y), fat_shattering_bound(wide, x, y)
    assert a.extra["B"] == b.extra["B"] and a.extra["fat_dim"] == b.extra["fat_dim"]
    assert a.extra["rademacher_route"] == pytest.approx(b.extra["rademacher_route"])
    assert a.value == b.value  # here d = fat(γ/16) > n, so both are vacuous (inf)
    w = torch.cat([net[2].weight.reshape(-1), net[2].bias]).detach().abs().sum()
    assert a.extra["B"] >= float(w) > a.extra["B"] / 2


def test_fat_shattering_dimension_formula():
    net = two_layer_sigmoid(4, nn.Sigmoid)
    x, y = torch.rand(50, 3), torch.randint(0, 2, (50,))
    r = fat_shattering_bound(net, x, y, gamma=0.01)
    c = r.extra["B"] * (2 * 0.25 * r.extra["V"] * 1.0 * math.sqrt(2 * math.log(8)) + max(0.5, 1.0))  # issue 14 item 4
    assert r.extra["C"] == pytest.approx(c)
    assert r.extra["fat_dim"] == max(1, math.floor((16 * c / r.extra["gamma"]) ** 2))
    with pytest.raises(ValueError):
        fat_shattering_bound(small_net(), torch.randn(5, 4), torch.zeros(5, dtype=torch.long))
