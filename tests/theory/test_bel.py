"""bel_composition: the layers compose to h (through their numerical inverses), the Jacobian estimate
matches a closed form in 1-D and finite differences in 2-D, and the normalization of a general h."""
import pytest
import torch
from oracles import jacobian_by_differences

from dlscope.theory import bel_composition, schedule

C = 0.6  # h(x) = x + C x²/2 on [−1, 1]: h' = 1 + C x > 0, so h is invertible there


def quad(x):
    return x + 0.5 * C * x ** 2


def shear(x):
    return torch.stack([x[:, 0] + 0.5 * torch.sin(x[:, 1]) * x[:, 1], x[:, 1] + 0.3 * x[:, 0] ** 2], 1)


def fresh(n, d, radius, seed=123):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, d, generator=g, dtype=torch.float64)
    return radius * torch.rand(n, 1, generator=g, dtype=torch.float64) ** (1 / d) * u / u.norm(dim=1, keepdim=True)


def compose(layers, x):
    with torch.no_grad():
        for layer in layers:
            x = layer(x)
    return x


@pytest.mark.parametrize("kind", ["uniform", "geometric"])
@pytest.mark.parametrize("m", [1, 3, 12])
def test_composition_equals_h(kind, m):
    c = bel_composition(shear, m, dim=2, radius=1.5, kind=kind, n_points=300, n_pairs=1000, n_check=50)
    assert len(c.layers) == m and c.composition_error <= 1e-9
    x = fresh(40, 2, 1.5)
    assert float((compose(c.layers, x) - shear(x)).abs().max()) <= 1e-9  # fresh points, not the check sample


def test_one_dimensional_closed_form():
    # D h_i(y) = h'(a_i x)/h'(a_{i−1} x), so sup_{|x|≤1} |D h_i − 1| = C (a_i − a_{i−1}) / (1 − C a_{i−1})
    m = 8
    c = bel_composition(quad, m, dim=1, radius=1.0, n_points=4000, n_pairs=4000, n_check=50)
    a = [0.0] + schedule(m)
    exact = [C * (a[i] - a[i - 1]) / (1 - C * a[i - 1]) for i in range(1, m + 1)]
    for got, want in zip(c.jacobian, exact):
        assert want * (1 - 2e-3) <= got <= want * (1 + 1e-12)  # 4000 uniform points come within 1/2000 of x = −1
    assert all(ch <= j * (1 + 1e-9) for ch, j in zip(c.chord, c.jacobian))  # mean value theorem on an interval
    assert c.composition_error <= 1e-12


def test_jacobian_estimate_matches_differences_of_the_layers():
    m = 4
    c = bel_composition(shear, m, dim=2, radius=1.0, n_points=500, n_pairs=500, n_check=20)
    y = fresh(30, 2, 0.9, seed=5)
    for i, layer in enumerate(c.layers):
        J = jacobian_by_differences(layer, y, h=1e-6)
        dev = float(torch.linalg.matrix_norm(J - torch.eye(2, dtype=torch.float64), ord=2).max())
        # the points y are images of the ball under h_{i−1}∘⋯∘h_1, near the sampled domain: the sample max
        # over 500 points bounds them (measured ratios 0.74–0.87 over seeds 0–4; 1.1 leaves room for sample gaps)
        assert dev <= 1.1 * c.jacobian[i]
        with torch.no_grad():
            y = layer(y)


def test_general_map_is_normalized_and_still_composes():
    M = torch.tensor([[1.5, 0.4], [-0.3, 0.8]], dtype=torch.float64)
    b = torch.tensor([0.2, -0.1], dtype=torch.float64)

    def h(x):
        return shear(x - 0.5) @ M.T + b

    c = bel_composition(h, 6, dim=2, radius=1.0, center=[0.5, 0.5], n_points=300, n_pairs=500, n_check=40)
    assert c.settings["linear_layers"] == 3 and c.composition_error <= 1e-9
    x = 0.5 + fresh(30, 2, 1.0)
    assert float((compose(c.layers, x) - h(x)).abs().max()) <= 1e-9


def test_errors():
    with pytest.raises(ValueError, match="det Dh"):
        bel_composition(lambda x: x * torch.tensor([1.0, -1.0], dtype=torch.float64), 4, dim=2)  # a reflection
    with pytest.raises(ValueError, match="m must be"):
        bel_composition(shear, 0, dim=2)
    with pytest.raises(ValueError, match="linear_layers"):
        bel_composition(lambda x: 2 * x, 4, dim=2, linear_layers=0)
    with pytest.raises(ValueError, match="schedule"):
        schedule(3, "cubic")
