"""measure.kernel_regression against gradient descent run step by step (oracles.kernel_gd_loop), and its
interpolation limit; the errors in one line."""
import pytest
import torch
from cases import sphere_inputs
from oracles import kernel_gd_loop

from dlscope.measure import kernel_regression, relu_ntk


def test_equals_step_by_step_gradient_descent():
    x, z = sphere_inputs(20, 6, seed=2), sphere_inputs(9, 6, seed=3)
    K, Kx = relu_ntk(x, depth=2).value, relu_ntk(z, x, depth=2).value
    Y = torch.randn(20, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    eta = 1.0 / float(torch.linalg.eigvalsh(K).max())
    for steps in (1, 7, 300):
        r = kernel_regression(K, Kx, Y, rate=eta, steps=steps)
        test, train = kernel_gd_loop(K, Kx, Y, eta, steps)
        # eigendecomposition vs 300 matrix products in float64: agreement to ~1e-12
        assert torch.allclose(r.value, test, rtol=1e-9, atol=1e-11)
        assert torch.allclose(r.extra["train"], train, rtol=1e-9, atol=1e-11)


def test_interpolant_fits_the_training_set():
    x = sphere_inputs(15, 4, seed=4)
    K = relu_ntk(x, depth=1).value
    y = torch.randn(15, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    r = kernel_regression(K, K, y)
    assert torch.allclose(r.value[:, 0], y, atol=1e-8)


def test_errors():
    K = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="both rate and steps"):
        kernel_regression(K, K, torch.ones(3), rate=0.1)
    with pytest.raises(ValueError, match="diverges"):
        kernel_regression(K, K, torch.ones(3), rate=2.5, steps=3)
    with pytest.raises(ValueError, match="shapes do not match"):
        kernel_regression(K, K, torch.ones(4))
