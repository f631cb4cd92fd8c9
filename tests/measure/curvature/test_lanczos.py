"""Lanczos eigenvalues against numpy.linalg.eigvalsh."""
import numpy as np
import pytest
import torch

from oracles import dense_hessian
from cases import CASES
from dlscope.measure import bottom_eigenvalues, hessian, top_eigenvalues


def spectrum_matrix(eigs, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    return torch.tensor(Q @ np.diag(eigs) @ Q.T)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("k", [1, 3])
def test_top_and_bottom_match_eigvalsh(name, k):
    case = CASES[name]()
    exact = np.linalg.eigvalsh(dense_hessian(case).numpy())
    op = hessian(case.model, case.loss_fn, case.batches)
    top = top_eigenvalues(op, k=k, tol=1e-10, seed=1)
    assert top.extra["converged"]
    assert np.allclose(top.value, exact[::-1][:k], rtol=1e-8, atol=1e-12 * abs(exact).max())
    bot = bottom_eigenvalues(op, k=k, tol=1e-10, atol=1e-12 * abs(exact).max(), seed=1)
    assert bot.extra["converged"]
    assert np.allclose(bot.value, exact[:k], rtol=1e-8, atol=1e-10 * abs(exact).max())
    assert top.settings["kind"] == "hessian" and top.settings["seed"] == 1


def test_residuals_are_the_explicit_residuals_and_bound_the_error():
    case = CASES["cnn"]()
    H = dense_hessian(case)
    exact = np.linalg.eigvalsh(H.numpy())[::-1]
    op = hessian(case.model, case.loss_fn, case.batches)
    for steps in (4, 8, 40):
        res = top_eigenvalues(op, k=2, max_steps=steps, return_eigenvectors=True)
        Y = res.extra["eigenvectors"]
        assert torch.allclose(Y.T @ Y, torch.eye(2, dtype=torch.float64), atol=1e-10)
        r = (H @ Y - Y * torch.tensor(res.value, dtype=torch.float64)).norm(dim=0).numpy()
        assert np.allclose(r, res.extra["residuals"], rtol=1e-6, atol=1e-13)
        # Some eigenvalue lies within ‖r‖ of each Rayleigh quotient ρ (Parlett 1998, Thm 4.5.1).
        dist = np.abs(np.array(res.value)[:, None] - exact[None, :]).min(1)
        assert np.all(dist <= np.array(res.extra["residuals"]) * (1 + 1e-8) + 1e-14)
    short = top_eigenvalues(op, k=2, max_steps=4, tol=1e-10)
    assert not short.extra["converged"] and short.extra["num_matvecs"] == 4


def test_stops_early_at_the_tolerance():
    eigs = np.concatenate([[50.0, 30.0, 20.0], np.linspace(-1, 1, 297)])
    A = spectrum_matrix(eigs)
    loose = top_eigenvalues(A, k=1, tol=1e-4)
    tight = top_eigenvalues(A, k=1, tol=1e-12)
    assert loose.extra["converged"] and tight.extra["converged"]
    assert loose.extra["num_matvecs"] < tight.extra["num_matvecs"] < 300
    assert abs(loose.value[0] - 50) <= 1e-4 * 50
    assert abs(tight.value[0] - 50) <= 1e-11 * 50


def test_repeated_eigenvalues_are_all_found():
    A = spectrum_matrix([5.0, 5.0, 5.0, 1.0, 0.5, 0.2, -1.0, -1.0])
    # Run to the end (tol=0): the iteration restarts past each invariant subspace.
    assert np.allclose(top_eigenvalues(A, k=3, tol=0).value, [5, 5, 5], atol=1e-10)
    assert np.allclose(bottom_eigenvalues(A, k=2, tol=0).value, [-1, -1], atol=1e-10)


def test_seeded_and_reproducible():
    A = spectrum_matrix(np.linspace(-3, 7, 60), seed=3)
    a = top_eigenvalues(A, k=2, seed=5, max_steps=6)
    b = top_eigenvalues(A, k=2, seed=5, max_steps=6)
    c = top_eigenvalues(A, k=2, seed=6, max_steps=6)
    assert a.value == b.value and a.value != c.value


def test_float32_operator():
    case = CASES["mlp"]()
    exact = np.linalg.eigvalsh(dense_hessian(case).numpy())[-1]
    case.model.float()
    op = hessian(case.model, case.loss_fn, [(x.float(), y) for x, y in case.batches])
    res = top_eigenvalues(op, k=1, tol=1e-5)
    assert abs(res.value[0] - exact) <= 1e-5 * abs(exact)
