"""Mode connectivity: barrier definition, curves, NEB, weight matching, purity."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from cases import CASES
from helpers import dirty, fingerprint_equal
from dlscope.measure import barrier, classification_error, find_path, interpolate, weight_matching
from helpers import state_fingerprint
from dlscope.measure.landscape.paths import curve_coefficients, polyline

F = nn.functional


def toy_data(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    return x, (x[:, 0] * x[:, 1] > 0).long()


def trained_mlp(seed, x, y, steps=300):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)).double()
    opt = torch.optim.Adam(m.parameters(), 2e-2)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    return m


@pytest.fixture(scope="module")
def two_minima():
    x, y = toy_data()
    return trained_mlp(1, x, y), trained_mlp(2, x, y), (x, y)


def test_barrier_definition():
    t = np.linspace(0, 1, 5)
    assert barrier(t, [1.0, 1.5, 2.5, 2.0, 2.0]) == pytest.approx(2.5 - 1.5)
    assert barrier(t, [1.0, 0.5, 0.2, 0.5, 1.0]) == 0.0  # a valley: the ends are the max
    assert barrier([-0.5, 0, 0.5, 1, 1.5], [9.0, 0.0, 1.0, 0.0, 9.0]) == 1.0  # only t in [0, 1] counts
    with pytest.raises(ValueError):
        barrier([0.1, 0.9], [0.0, 0.0])


def test_curve_parametrizations():
    t = torch.linspace(0, 1, 13, dtype=torch.float64)
    for method in ("bezier", "polychain"):
        for K in (1, 3):
            c = curve_coefficients(method, K, t)
            assert torch.allclose(c.sum(1), torch.ones(13, dtype=torch.float64))
            assert torch.equal(c[0], torch.eye(K + 2, dtype=torch.float64)[0])
            assert torch.equal(c[-1], torch.eye(K + 2, dtype=torch.float64)[-1])
    # The chain passes through its control points at t = k/(K+1).
    c = curve_coefficients("polychain", 3, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64))
    assert torch.allclose(c, torch.eye(5, dtype=torch.float64)[1:4])
    pts = torch.tensor([[0.0, 0.0], [3.0, 0.0], [3.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(polyline(pts, torch.tensor([0.0, 0.75, 1.0], dtype=torch.float64), True),
                          torch.tensor([[0.0, 0.0], [3.0, 0.0], [3.0, 1.0]], dtype=torch.float64))


@pytest.mark.parametrize("method", ["bezier", "polychain", "neb"])
def test_path_between_copies_has_no_barrier_and_models_are_untouched(method):
    case = CASES["bn_net"]()
    a = dirty(case.model)
    b = copy.deepcopy(a)
    fa, fb = state_fingerprint(a), state_fingerprint(b)
    r = find_path(a, b, case.loss_fn, case.batches, method=method, steps=30, lr=0.01, batch_size=8,
                  eval_points=11, error_fn=classification_error)
    assert 0.0 <= r.value <= 1e-6 and r.extra["error_barrier"] <= 1e-12
    assert fingerprint_equal(fa, state_fingerprint(a)) and fingerprint_equal(fb, state_fingerprint(b))
    assert r.settings["bn_mode"] == "eval" and r.settings["method"] == method
    lin = interpolate(a, b, case.loss_fn, case.batches, steps=11)
    assert lin.extra["loss_barrier"] == 0.0


@pytest.mark.parametrize("method", ["bezier", "neb"])
def test_trained_path_lowers_the_linear_barrier(two_minima, method):
    a, b, data = two_minima
    lin = interpolate(a, b, F.cross_entropy, data, steps=21, error_fn=classification_error)
    r = find_path(a, b, F.cross_entropy, data, method=method, steps=300, lr=0.02, batch_size=32,
                  num_bends=1 if method == "bezier" else 3, error_fn=classification_error, seed=0)
    assert lin.extra["loss_barrier"] > 0.5
    assert r.value < 0.5 * lin.extra["loss_barrier"]
    assert np.isclose(r.extra["losses"][0], lin.value[0]) and np.isclose(r.extra["losses"][-1], lin.value[-1])
    n = sum(p.numel() for p in a.parameters())
    assert r.extra["points"].shape[1] == n
    if method == "neb":
        assert r.extra["points"].shape[0] >= 5  # 3 pivots plus the ends, AutoNEB may add more


def test_weight_matching_undoes_a_permutation(two_minima):
    a, _, data = two_minima
    perm_b = copy.deepcopy(a)
    g = torch.Generator().manual_seed(0)
    p1, p2 = torch.randperm(16, generator=g), torch.randperm(16, generator=g)
    with torch.no_grad():
        perm_b[0].weight.copy_(a[0].weight[p1]); perm_b[0].bias.copy_(a[0].bias[p1])
        perm_b[2].weight.copy_(a[2].weight[p2][:, p1]); perm_b[2].bias.copy_(a[2].bias[p2])
        perm_b[4].weight.copy_(a[4].weight[:, p2])
    before = state_fingerprint(perm_b)
    aligned, perms = weight_matching(a, perm_b)
    assert all(torch.equal(u, v) for u, v in zip(aligned.parameters(), a.parameters()))
    assert fingerprint_equal(before, state_fingerprint(perm_b))
    assert interpolate(a, perm_b, F.cross_entropy, data, steps=5).extra["loss_barrier"] > 0.1
    assert interpolate(a, perm_b, F.cross_entropy, data, steps=5, align=True).extra["loss_barrier"] <= 1e-12


def test_weight_matching_lowers_the_barrier_of_independent_nets(two_minima):
    a, b, data = two_minima
    plain = interpolate(a, b, F.cross_entropy, data, steps=11).extra["loss_barrier"]
    aligned = interpolate(a, b, F.cross_entropy, data, steps=11, align=True).extra["loss_barrier"]
    assert aligned < plain


def test_weight_matching_refuses_non_mlps():
    with pytest.raises(ValueError, match="MLP"):
        weight_matching(CASES["cnn"]().model, CASES["cnn"](1).model)
    with pytest.raises(ValueError, match="MLP"):
        weight_matching(CASES["bn_net"]().model, CASES["bn_net"](1).model)
