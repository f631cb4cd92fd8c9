"""Gradient descent on deep linear (residual) networks with closed-form population losses.

A deep linear net computes x ↦ Θ_L ⋯ Θ_1 x; in the residual parameterization Θ_i = I + A_i and the
net starts at the identity (A_i = 0). For isotropic inputs (E xxᵀ = I) and targets y = Φ x + ξ
(ξ independent, mean zero) the population loss is, up to the noise constant,

    F(Θ) = ½ ‖Θ_L ⋯ Θ_1 − Φ‖²_F                    (Bartlett, Helmbold & Long 2018, ICML)

(Hardt & Ma 2017 write E‖(I + A_m)⋯(I + A_1)x − y‖² = 2F + d σ² for x ~ N(0, I), ξ ~ N(0, σ²I):
the same problem, the same minimizers, twice the gradient). Its gradient in layer i is

    ∇_{Θ_i} F = (Θ_L ⋯ Θ_{i+1})ᵀ (P − Φ) (Θ_{i−1} ⋯ Θ_1)ᵀ,    P = Θ_L ⋯ Θ_1.

Hardt & Ma (2017, Thm 2.2 and its proof): when max_i ‖A_i‖ ≤ τ < 1 the gradient dominates the
excess loss, ‖∇F‖²_F ≥ L (1 − τ)^{2(L−1)} ‖P − Φ‖²_F = 2L(1 − τ)^{2(L−1)} F (as σ_min(Θ_i) ≥ 1 − τ),
so every critical point with max‖A_i‖ < 1 is a global minimum. :func:`pl_ratio` is the measured
left side over that right side (≥ 1).

``balanced=True`` enforces, after each step, the two invariants of Bartlett, Helmbold & Long's
algorithm for targets with uᵀΦu > 0 (our implementation of what their abstract states; the paper's
step rule may differ): the layers are re-set to equal factors Θ_i = P^{1/L} (principal root, so they
have the same singular values), and a step that would break uᵀPu > 0 for some u is halved.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

__all__ = ["deep_linear_gd", "layer_gradients", "end_to_end", "pl_ratio"]


def end_to_end(thetas) -> np.ndarray:
    P = np.eye(thetas[0].shape[0])
    for T in thetas:
        P = T @ P
    return P


def layer_gradients(thetas, Phi) -> tuple[list, float]:
    """([∇_{Θ_i} F], F) for F = ½‖Θ_L⋯Θ_1 − Φ‖²_F, by prefix and suffix products."""
    L, d = len(thetas), thetas[0].shape[0]
    prefix = [np.eye(d)]
    for T in thetas:
        prefix.append(T @ prefix[-1])
    E = prefix[-1] - Phi
    grads, suffix = [None] * L, np.eye(d)
    for i in range(L - 1, -1, -1):
        grads[i] = suffix.T @ E @ prefix[i].T
        suffix = suffix @ thetas[i]
    return grads, 0.5 * float((E * E).sum())


def pl_ratio(grads, F: float, tau: float) -> float:
    """‖∇F‖²_F / (2L(1 − τ)^{2(L−1)} F): ≥ 1 whenever max‖Θ_i − I‖ ≤ τ < 1 (Hardt & Ma 2017)."""
    L = len(grads)
    if F <= 0 or tau >= 1:
        return float("nan")
    return sum(float((g * g).sum()) for g in grads) / (2 * L * (1 - tau) ** (2 * (L - 1)) * F)


def _principal_root(P: np.ndarray, L: int) -> np.ndarray:
    R = scipy.linalg.fractional_matrix_power(P, 1.0 / L)
    return np.real(R) if np.iscomplexobj(R) else R


def _positive(P: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(0.5 * (P + P.T)).min())


def deep_linear_gd(Phi, L: int, *, lr: float, max_steps: int, tol: float, record_every: int = 10,
                   balanced: bool = False, init=None) -> dict:
    """Gradient descent on F(Θ) = ½‖Θ_L⋯Θ_1 − Φ‖²_F from Θ_i = I (or ``init``) until F ≤ tol.

    Returns steps (to F ≤ tol, or None), the final F, the trajectory every ``record_every`` steps
    (step, F, max_i ‖Θ_i − I‖₂, the Hardt–Ma ratio of :func:`pl_ratio` at τ = that max), the
    largest max_i ‖Θ_i − I‖₂ seen, whether the iterates diverged, and the final product.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    d = Phi.shape[0]
    thetas = [np.eye(d) for _ in range(L)] if init is None else [np.array(T, dtype=np.float64) for T in init]
    traj, steps_to_tol, worst, diverged, halvings = [], None, 0.0, False, 0
    for step in range(max_steps + 1):
        grads, F = layer_gradients(thetas, Phi)
        dev = max(float(np.linalg.norm(T - np.eye(d), 2)) for T in thetas)
        worst = max(worst, dev)
        if not math.isfinite(F) or F > 1e12:
            diverged = True
            break
        if step % record_every == 0 or F <= tol or step == max_steps:
            traj.append((step, F, dev, pl_ratio(grads, F, dev)))
        if F <= tol:
            steps_to_tol = step
            break
        if step == max_steps:
            break
        eta = lr
        while True:
            new = [T - eta * g for T, g in zip(thetas, grads)]
            if not balanced:
                break
            P = end_to_end(new)
            if _positive(P) > 0:
                root = _principal_root(P, L)
                new = [root.copy() for _ in range(L)]
                break
            eta /= 2
            halvings += 1
            if eta < lr * 1e-12:
                raise ArithmeticError("balanced step cannot keep uᵀPu > 0")
        thetas = new
    return {"steps": steps_to_tol, "final_loss": F, "trajectory": traj, "max_deviation": worst,
            "diverged": diverged, "halvings": halvings, "product": end_to_end(thetas)}
