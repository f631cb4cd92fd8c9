"""Newton-type critical-point searches against closed forms and dense eigendecompositions (issue 14, item 9).

The old search (Adam on ‖∇L‖²) left ‖∇L‖ at 12–25% of its start on the dauphin2014 MLPs: its
"critical points" were not critical. Newton-MR and Levenberg–Marquardt drive ‖∇L‖ to ~10⁻¹⁰ of
the start wherever they converge; the ones that stall (gradient-flat points) say so.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cases import Case
from helpers import assert_untouched, state_fingerprint
from oracles import dense_hessian
from dlscope.measure import hessian_index, minimize_gradient_norm

METHODS = ["levenberg-marquardt", "newton-mr"]


class ShiftedQuadratic(nn.Module):
    """L(θ) = ½ θᵀAθ + bᵀθ through a loss that ignores its data: one critical point, θ* = −A⁻¹b."""

    def __init__(self, A, b):
        super().__init__()
        self.register_buffer("A", A)
        self.register_buffer("b", b)
        self.theta = nn.Parameter(torch.zeros(A.shape[0], dtype=A.dtype))

    def forward(self, x):
        return (0.5 * self.theta @ self.A @ self.theta + self.b @ self.theta).expand(len(x), 1)


def _mean(out, y):
    return out.mean()


@pytest.mark.parametrize("method", METHODS)
def test_a_known_quadratic_saddle_is_found_exactly(method):
    # A has 2 negative eigenvalues of 5: θ* = −A⁻¹b is a saddle of index 2/5. Newton-MR lands on it in one
    # step (the quadratic model is exact); LM's damping μ shrinks ≥ 3× per accepted step, so it takes a
    # few (measured: 5, ‖∇L‖ falling ~10²–10³× per step).
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))
    A = Q @ torch.diag(torch.tensor([3.0, 2.0, 0.5, -1.0, -4.0], dtype=torch.float64)) @ Q.T
    b = torch.randn(5, generator=g, dtype=torch.float64)
    m = ShiftedQuadratic(A, b)
    data = (torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3))
    before = state_fingerprint(m)
    point, r = minimize_gradient_norm(m, _mean, data, method=method, steps=20, tol=1e-12)
    assert_untouched(before, m)
    star = -torch.linalg.solve(A, b)
    assert r.value <= 1e-12 * r.extra["initial_grad_norm"] and r.extra["converged"]
    assert torch.allclose(point.theta, star, atol=1e-10)
    assert r.extra["iterations"] <= (2 if method == "newton-mr" else 10)
    assert hessian_index(point, _mean, data).value == pytest.approx(2 / 5)


def test_the_default_search_reaches_the_saddle_where_adam_did_not():
    # Same problem through the arguments the old function had: its Adam search (200 steps, lr 1e-3)
    # left ‖∇L‖ at ~0.4 of its start; the default now meets 1e-8.
    g = torch.Generator().manual_seed(1)
    A = torch.diag(torch.tensor([2.0, 1.0, -1.0, -3.0], dtype=torch.float64))
    m = ShiftedQuadratic(A, torch.randn(4, generator=g, dtype=torch.float64))
    data = (torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2))
    _, r = minimize_gradient_norm(m, _mean, data, steps=200)
    assert r.value <= 1e-8 * r.extra["initial_grad_norm"]


def small_tanh_mlp_problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 2, (200,), generator=g)


def start(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)).double()


@pytest.mark.parametrize("method,least", [("levenberg-marquardt", 5), ("newton-mr", 3)])
def test_mlp_critical_points_from_several_starts_and_their_exact_index(method, least):
    # A 46-parameter tanh MLP, float64, 200 examples; starts = fresh initializations (seeds 0–5). Measured:
    # LM reached ‖∇L‖ ≤ 1e-10 of its start from 6 of 6 starts, Newton-MR from 4 of 6 (the others stopped at
    # 1e-5–8e-3: gradient-flat points or slow progress, reported as not converged); 10 seeds: 7/10 and 6/10.
    # Asserted: at least 5 (LM) and 3 (Newton-MR) of 6. Every converged point's ‖∇L‖ is recomputed by
    # torch.func and its index checked against eigvalsh of the dense Hessian with the −10⁻³ λ_max threshold.
    x, y = small_tanh_mlp_problem()
    found = 0
    for seed in range(6):
        point, r = minimize_gradient_norm(start(seed), F.cross_entropy, (x, y), method=method, steps=60, tol=1e-10)
        case = Case("found", point, F.cross_entropy, x, y)
        grad = torch.func.grad(case.loss)(case.flat())
        assert float(grad.norm()) == pytest.approx(r.value, rel=1e-6, abs=1e-14)
        assert r.extra["converged"] == (r.extra["relative_grad_norm"] <= 1e-10)
        if not r.extra["converged"]:
            continue
        found += 1
        ev = torch.linalg.eigvalsh(dense_hessian(case))
        exact = float((ev < -1e-3 * ev[-1]).double().mean())
        idx = hessian_index(point, F.cross_entropy, (x, y))
        assert idx.value == pytest.approx(exact) and 0 < exact < 0.5  # a saddle, as Newton-type searches find
    assert found >= least


def test_unknown_method_is_one_line():
    with pytest.raises(ValueError, match="method must be one of"):
        minimize_gradient_norm(start(0), F.cross_entropy, small_tanh_mlp_problem(), method="bfgs")
