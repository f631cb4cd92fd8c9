"""Critical points by ‖∇L‖² minimization and the Hessian index, against brute force."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlscope.measure import hessian
from helpers import state_fingerprint
from dlscope.measure import hessian_index, minimize_gradient_norm


def _same(a, b):
    return all((x is None and y is None) or (x == y if isinstance(x, tuple) else torch.equal(x, y))
               for x, y in zip(a.values(), b.values()))


class Quadratic(nn.Module):
    """f(θ) = ½ θᵀ A θ through a 'loss' that ignores its inputs: an exact, known saddle at 0."""

    def __init__(self, A):
        super().__init__()
        self.register_buffer("A", A)
        self.theta = nn.Parameter(torch.ones(A.shape[0], dtype=A.dtype))

    def forward(self, x):
        return (0.5 * self.theta @ self.A @ self.theta).expand(len(x), 1)


def _loss(out, y):
    return out.mean()


def test_index_of_a_known_saddle_and_threshold():
    A = torch.diag(torch.tensor([4.0, 2.0, 1.0, -1.0, -1e-6, 0.0], dtype=torch.float64))
    m = Quadratic(A)
    data = (torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3))
    r = hessian_index(m, _loss, data, rel_threshold=1e-3)
    assert r.value == pytest.approx(1 / 6)  # only −1 counts; −1e-6 is below the 1e-3·λ_max threshold
    assert hessian_index(m, _loss, data, rel_threshold=0.0).value == pytest.approx(2 / 6)
    assert r.extra["lambda_min"] == pytest.approx(-1.0) and r.extra["lambda_max"] == pytest.approx(4.0)


def test_gradient_norm_minimization_reaches_the_saddle_and_leaves_model_untouched():
    A = torch.diag(torch.tensor([3.0, 1.0, -2.0], dtype=torch.float64))
    m = Quadratic(A)
    before = state_fingerprint(m)
    data = (torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2))
    point, r = minimize_gradient_norm(m, _loss, data, steps=2000, lr=1e-2)
    assert _same(before, state_fingerprint(m))
    assert r.extra["initial_grad_norm"] == pytest.approx(math.sqrt(9 + 1 + 4))
    assert r.value < 1e-3 and point.theta.abs().max() < 1e-3  # the only critical point is θ = 0, a saddle
    assert hessian_index(point, _loss, data).value == pytest.approx(1 / 3)


def test_index_dense_matches_eigvalsh_and_slq_agrees_on_an_mlp():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 3)).double()
    x, y = torch.randn(40, 6, dtype=torch.float64), torch.randint(3, (40,))
    dense = hessian(net, F.cross_entropy, (x, y)).to_dense()
    ev = torch.linalg.eigvalsh(dense)
    exact = float((ev < -1e-3 * ev[-1]).double().mean())
    assert hessian_index(net, F.cross_entropy, (x, y)).value == pytest.approx(exact)
    slq = hessian_index(net, F.cross_entropy, (x, y), dense_limit=0, lanczos_steps=40, num_probes=30, seed=1)
    assert slq.settings["method"] == "slq" and slq.stderr > 0
    assert abs(slq.value - exact) < 4 * slq.stderr + 0.02
