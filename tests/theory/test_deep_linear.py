"""deep_linear: the layer gradients against autograd, the Hardt–Ma gradient inequality on random
near-identity layers, and the three Bartlett–Helmbold–Long regimes on small cases."""
import numpy as np
import pytest
import scipy.linalg
from oracles import deep_linear_loss_autograd

from dlscope.theory import deep_linear_gd, end_to_end, layer_gradients, pl_ratio


def near_identity_layers(L, d, tau, rng):
    out = []
    for _ in range(L):
        A = rng.standard_normal((d, d))
        out.append(np.eye(d) + tau * rng.uniform(0, 1) * A / np.linalg.norm(A, 2))
    return out


def test_gradients_match_autograd():
    rng = np.random.default_rng(0)
    thetas = near_identity_layers(5, 3, 0.7, rng)
    Phi = rng.standard_normal((3, 3))
    grads, F = layer_gradients(thetas, Phi)
    F_ref, grads_ref = deep_linear_loss_autograd(thetas, Phi)
    assert F == pytest.approx(F_ref, rel=1e-12)
    assert all(np.allclose(g, r, atol=1e-12) for g, r in zip(grads, grads_ref))


@pytest.mark.parametrize("seed", range(5))
def test_hardt_ma_gradient_inequality(seed):
    # ‖∇F‖² ≥ 2L(1 − τ)^{2(L−1)} F whenever max‖Θ_i − I‖ ≤ τ < 1 (a theorem: no tolerance beyond rounding)
    rng = np.random.default_rng(seed)
    for L, tau in ((2, 0.9), (6, 0.5), (12, 0.2)):
        thetas = near_identity_layers(L, 4, tau, rng)
        dev = max(np.linalg.norm(T - np.eye(4), 2) for T in thetas)
        grads, F = layer_gradients(thetas, rng.standard_normal((4, 4)))
        assert pl_ratio(grads, F, dev) >= 1 - 1e-12


def test_identity_start_has_ratio_one():
    grads, F = layer_gradients([np.eye(3)] * 4, np.diag([2.0, 0.5, 1.0]))
    assert pl_ratio(grads, F, 0.0) == pytest.approx(1.0, rel=1e-12)  # every gradient is P − Φ


def test_symmetric_positive_definite_target_is_learned():
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    Phi = Q @ np.diag([0.5, 0.8, 1.3, 2.0]) @ Q.T
    r = deep_linear_gd(Phi, 10, lr=0.5 / (10 * 4.0), max_steps=2000, tol=1e-8)
    assert r["steps"] is not None and np.allclose(r["product"], Phi, atol=1e-3)


def test_negative_eigenvalue_is_never_learned():
    # symmetric Φ with eigenvalue λ < 0: from Θ_i = I the layers stay equal, symmetric and commuting with Φ,
    # their product's eigenvalue there is μ^L ≥ 0 … the loss never goes below ½λ²
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    Phi = Q @ np.diag([-0.5, 0.8, 1.0, 1.5]) @ Q.T
    r = deep_linear_gd(Phi, 10, lr=0.5 / (10 * 2.25), max_steps=3000, tol=1e-8, record_every=100)
    assert r["steps"] is None and min(t[1] for t in r["trajectory"]) >= 0.5 * 0.5 ** 2 * (1 - 1e-9)


def test_balanced_descent_keeps_its_invariants():
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    R = lambda t: np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])  # noqa: E731
    Phi = Q @ scipy.linalg.block_diag(1.3 * R(1.2), 0.8 * R(-0.9)) @ Q.T  # uᵀΦu > 0, not symmetric
    assert np.linalg.eigvalsh(Phi + Phi.T).min() > 0 and not np.allclose(Phi, Phi.T)
    r = deep_linear_gd(Phi, 8, lr=0.5 / (8 * 1.69), max_steps=3000, tol=1e-8, balanced=True)
    assert r["steps"] is not None and np.allclose(r["product"], Phi, atol=1e-3)


def test_hardt_ma_targets_converge_inside_the_region():
    rng = np.random.default_rng(4)
    for _ in range(3):
        A = scipy.linalg.expm(rng.standard_normal((4, 4)) / 2)  # det = e^{tr} > 0
        lr = 0.5 / (8 * max(1.0, np.linalg.norm(A, 2)) ** 2)
        F0 = 0.5 * np.sum((np.eye(4) - A) ** 2)
        r = deep_linear_gd(A, 8, lr=lr, max_steps=3000, tol=1e-6 * F0)
        assert r["steps"] is not None and r["max_deviation"] < 1
        assert min(t[3] for t in r["trajectory"]) >= 1 - 1e-9
        assert np.allclose(end_to_end([np.eye(4)] * 3), np.eye(4))
