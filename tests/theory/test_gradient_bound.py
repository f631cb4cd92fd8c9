"""gradient_lower_bound: a case computed by hand, the Fréchet derivative against finite differences of Q
along the maximizing and random perturbations, and the theorem on a BEL composition."""
import pytest
import torch
from oracles import empirical_q, lookup

from dlscope.theory import bel_composition, frechet_gradient_norms, gradient_lower_bound


def scalar(c):
    return lambda z: (1 + c) * z


def test_case_computed_by_hand():
    # h_1 = 1.1·x, h_2 = 0.8·x, sample x = (1, 2), y = (0, 3): h(x) = 0.88 x = (0.88, 1.76), e = (0.88, −1.24)
    # Q(h) = ½·(0.88² + 1.24²)/2 = 0.578, Q(h*) = 0, ‖h − h*‖ = max(0.88/1, 1.24/2) = 0.88
    # layer 1 reads x, J_{>1} = 0.8:  ‖D_{h_1}Q‖ = (1·0.8·0.88 + 2·0.8·1.24)/2 = 1.344
    # layer 2 reads 1.1x, J_{>2} = 1: ‖D_{h_2}Q‖ = (1.1·0.88 + 2.2·1.24)/2 = 1.848
    # ε = 0.2: right side = 0.8 · 0.578 / 0.88 = 0.525454…
    x = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [3.0]], dtype=torch.float64)
    r = gradient_lower_bound([scalar(0.1), scalar(-0.2)], x, y, eps=0.2)
    assert r.extra["lhs"] == pytest.approx([1.344, 1.848], rel=1e-12)
    assert r.extra["Q"] == pytest.approx(0.578, rel=1e-12) and r.extra["Q_star"] == 0.0
    assert r.extra["distance"] == pytest.approx(0.88, rel=1e-12)
    rhs = 0.8 * 0.578 / 0.88
    assert r.extra["rhs"] == pytest.approx(rhs, rel=1e-12)
    assert r.extra["ratios"] == pytest.approx([1.344 / rhs, 1.848 / rhs], rel=1e-12)
    assert r.value == pytest.approx(1.344 / rhs, rel=1e-12)


def test_conditional_mean_of_repeated_inputs():
    x = torch.tensor([[1.0], [1.0], [2.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [2.0], [2.0]], dtype=torch.float64)  # h* = (1, 1, 2): Q(h*) = ½·(1 + 1 + 0)/3
    g = frechet_gradient_norms([scalar(0.0)], x, y)
    assert g["Q_star"] == pytest.approx(1 / 3) and g["Q"] == pytest.approx(0.5 * (1 + 1 + 0) / 3)
    assert g["distance"] == pytest.approx(0.0)


def shear(x):
    return torch.stack([x[:, 0] + 0.5 * torch.sin(x[:, 1]) * x[:, 1], x[:, 1] + 0.3 * x[:, 0] ** 2], 1)


@pytest.fixture(scope="module")
def problem():
    c = bel_composition(shear, 3, dim=2, radius=1.0, n_points=400, n_pairs=1000, n_check=20)
    g = torch.Generator().manual_seed(3)
    x = 2 * torch.rand(12, 2, generator=g, dtype=torch.float64) - 1
    y = x @ torch.tensor([[0.9, 0.3], [-0.2, 1.1]], dtype=torch.float64).T
    return c, x, y


def test_frechet_norm_is_attained_and_not_exceeded(problem):
    c, x, y = problem
    norms = frechet_gradient_norms(c.layers, x, y)["norms"]
    zs = [x]
    with torch.no_grad():
        for layer in c.layers:
            zs.append(layer(zs[-1]))
    t = 1e-6
    for i in (0, 2):
        # the maximizing Δ: Δ(z_{i−1,j}) = ‖z_{i−1,j}‖ u_j, u_j the unit vector of J_{>i}ᵀ e_j, found here by
        # differences of Q along each coordinate of each point — no autograd
        base = empirical_q(c.layers, x, y)
        grads = torch.zeros_like(zs[i])
        for j in range(len(x)):
            for k in range(2):
                vals = torch.zeros_like(zs[i])
                vals[j, k] = 1.0
                grads[j, k] = (empirical_q(c.layers, x, y, (i, lookup(zs[i], t * vals))) - base) / t
        best = zs[i].norm(dim=1, keepdim=True) * grads / grads.norm(dim=1, keepdim=True)
        d_best = (empirical_q(c.layers, x, y, (i, lookup(zs[i], t * best))) - base) / t
        assert d_best == pytest.approx(norms[i], rel=1e-4)  # one-sided differences at t = 1e-6
        gen = torch.Generator().manual_seed(i)
        for _ in range(3):  # random Δ with ‖Δ(z)‖ ≤ ‖z‖ never beats the norm
            v = torch.randn(zs[i].shape, generator=gen, dtype=torch.float64)
            v = zs[i].norm(dim=1, keepdim=True) * v / v.norm(dim=1, keepdim=True) * torch.rand(len(x), 1, generator=gen,
                                                                                              dtype=torch.float64)
            d = (empirical_q(c.layers, x, y, (i, lookup(zs[i], t * v))) - base) / t
            assert abs(d) <= norms[i] * (1 + 1e-4)


def test_bound_holds_on_a_bel_composition(problem):
    c, x, y = problem
    r = gradient_lower_bound(c.layers, x, y, eps=c.max_lipschitz)
    assert r.extra["rhs"] > 0 and r.value >= 2 * (1 - 1e-9)  # the proof leaves a factor 2 (module docstring)


def test_errors():
    x = torch.ones(3, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="ε < 1"):
        gradient_lower_bound([scalar(0.5)], x, x, eps=1.0)
    with pytest.raises(ValueError, match="moves the origin"):
        gradient_lower_bound([lambda z: z + 1.0], x, x, eps=0.0)
