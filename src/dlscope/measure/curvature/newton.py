"""Newton-type searches for critical points, ∇L(θ) = 0 — minima and saddles alike.

Both methods work in the Krylov space K_m(H_k, g_k) of the Hessian at θ_k, built by m Lanczos steps
from the gradient g_k (full reorthogonalization, :func:`.lanczos.lanczos`). With Q_m the basis and
T̃_m the (m+1)×m tridiagonal of the Lanczos relation H Q_m = Q_{m+1} T̃_m, a step p = Q_m y has

    ‖g_k + H_k p‖ = ‖β₀ e₁ + T̃_m y‖,   β₀ = ‖g_k‖,

so every sub-problem is an (m+1)×m least-squares problem, solved for as many damping values as
needed without new Hessian products.

* ``"newton-mr"`` — Roosta, Liu, Xu & Mahoney, "Newton-MR: Inexact Newton method with minimum
  residual sub-problem solver" (2018; EURO J. Comput. Optim. 2022): y = argmin ‖β₀e₁ + T̃y‖ (the
  MINRES iterate; the pseudo-inverse step −H⁺g once m resolves H), then Armijo backtracking on
  ‖∇L‖²: ‖g(θ + αp)‖² ≤ ‖g‖² + 2·10⁻⁴·α⟨p, Hg⟩.
* ``"levenberg-marquardt"`` — Levenberg (1944), Marquardt (1963), Moré (1978) on the residual ∇L
  (a damped Newton step): y = argmin ‖β₀e₁ + T̃y‖² + μ‖y‖², accepted when the gain ratio
  ρ = (‖g‖² − ‖g(θ+p)‖²) / (‖g‖² − ‖g + Hp‖²) exceeds 10⁻⁴, with Nielsen's (1999) update
  μ ← μ·max(1/3, 1 − (2ρ − 1)³) on success and μ ← μ·ν, ν ← 2ν on failure. The damping bounds
  the step along the nearly-null directions of degenerate critical sets (over-parameterized
  nets), where pseudo-inverse steps blow up; LM converges to non-isolated zeros under a local
  error bound, without a nonsingular Jacobian (Yamashita & Fukushima 2001).

Both descend ‖∇L‖², not L, so saddles attract them as much as minima. Both can also stop at a
"gradient-flat" point, a local minimum of ‖∇L‖² where ∇L ≠ 0 lies in the near-null space of H
(Frye, Simon, Wadia, Ligeralde, DeWeese & Bouchard 2021): the caller must check ‖∇L‖ against a
tolerance. A run stops when ‖∇L‖ ≤ tol·‖∇L(θ₀)‖, after ``steps`` iterations, or when ‖∇L‖ fell by
less than 1% in 5 iterations (``stalled``).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._core.params import ParamSpace
from .lanczos import lanczos

__all__ = ["newton_search", "load_flat"]

_ARMIJO = 1e-4
_MAX_TRIALS = 40
_STALL = 5
_CHECK = 4


def newton_search(ev, operator_at, theta: torch.Tensor, *, method: str, steps: int, tol: float,
                  inner_steps: int, inner_tol: float):
    """Run ``method`` from ``theta``; returns (θ, loss, ‖∇L‖, record).

    ``ev`` is an :class:`~dlscope.measure._core.risk.Evaluator` (loss and gradient at a flat θ);
    ``operator_at(θ)`` returns the Hessian operator at θ. record: initial loss and ‖∇L‖, ‖∇L‖ per
    iteration, step sizes (Newton-MR) or damping μ (LM), products used, iterations, stalled.
    """
    loss, g = ev.loss_and_grad(theta)
    gn0 = float(g.norm())
    rec = {"initial_loss": loss, "initial_grad_norm": gn0, "grad_norms": [gn0], "steps": [],
           "num_matvecs": 0, "iterations": 0, "stalled": False}
    mu, nu = None, 2.0
    for _ in range(steps):
        gn = float(g.norm())
        norms = rec["grad_norms"]
        if gn <= tol * gn0 or gn == 0.0:
            break
        if len(norms) > _STALL and norms[-1] > (1 - 1e-2) * norms[-1 - _STALL]:
            rec["stalled"] = True
            break
        H = operator_at(theta)
        Q, Tt = _krylov(H, g, inner_steps, inner_tol)
        rec["num_matvecs"] += H.num_matvecs
        rec["iterations"] += 1
        if mu is None:  # a damping small next to the curvature H shows along g
            mu = 1e-3 * float(np.max(np.abs(Tt)) ** 2)
        if method == "newton-mr":
            step = _newton_mr_step(ev, theta, g, gn, Q, Tt)
        else:
            step, mu, nu = _lm_step(ev, theta, g, gn, Q, Tt, mu, nu)
        if step is None:  # no decrease at machine resolution: stop where we are
            rec["stalled"] = True
            break
        theta, loss, g, info = step
        rec["grad_norms"].append(float(g.norm()))
        rec["steps"].append(info)
    return theta, loss, float(g.norm()), rec


def _newton_mr_step(ev, theta, g, gn, Q, Tt):
    y = _damped_lstsq(Tt, gn, 0.0)
    p = (Q.T @ torch.as_tensor(y, dtype=Q.dtype, device=Q.device)).to(theta.dtype)
    # ⟨p, Hg⟩ = ⟨Q_{m+1}ᵀ T̃ y, β₀ Q_{m+1}ᵀ e₁⟩ = β₀ (T̃y)₁: the slope of ½‖g(θ + αp)‖² at α = 0.
    slope = gn * float((Tt @ y)[0])
    if not slope < 0:  # fall back to −Hg = −β₀ Q_m T̃[:m, 1] (the gradient of ½‖g‖²), scaled to ‖g‖
        y = -Tt[: Tt.shape[1], 0].copy()
        y *= gn / max(float(np.linalg.norm(y)), np.finfo(float).tiny)
        p = (Q.T @ torch.as_tensor(y, dtype=Q.dtype, device=Q.device)).to(theta.dtype)
        slope = gn * float((Tt @ y)[0])
    alpha = 1.0
    for _ in range(_MAX_TRIALS):
        loss, g_new = ev.loss_and_grad(theta + alpha * p)
        if float(g_new.norm()) ** 2 <= gn ** 2 + 2 * _ARMIJO * alpha * slope:
            return theta + alpha * p, loss, g_new, alpha
        alpha *= 0.5
    return None


def _lm_step(ev, theta, g, gn, Q, Tt, mu, nu):
    e1 = np.zeros(Tt.shape[0])
    e1[0] = gn
    for _ in range(_MAX_TRIALS):
        y = _damped_lstsq(Tt, gn, mu)
        predicted = gn ** 2 - float(np.sum((e1 + Tt @ y) ** 2))
        p = (Q.T @ torch.as_tensor(y, dtype=Q.dtype, device=Q.device)).to(theta.dtype)
        loss, g_new = ev.loss_and_grad(theta + p)
        actual = gn ** 2 - float(g_new.norm()) ** 2
        rho = actual / predicted if predicted > 0 else -math.inf
        if rho > _ARMIJO:
            return (theta + p, loss, g_new, mu), mu * max(1 / 3, 1 - (2 * rho - 1) ** 3), 2.0
        mu, nu = mu * nu, 2 * nu
    return None, mu, nu


def _krylov(H, g, m, rtol):
    """Lanczos basis Q (k × n, float64) of K_k(H, g) and the (k+1) × k tridiagonal T̃ (last row β_k e_kᵀ,
    zero when the space is invariant). k ≤ m stops at the first MINRES iterate y_k meeting Roosta et
    al.'s inexactness condition ‖H r_k‖ ≤ rtol·‖H g‖ (r_k = g + H Q_k y_k; checked every few steps)."""
    seen = {}

    def keep(alpha, beta):
        seen["a"], seen["b"] = alpha, beta
        j = len(alpha)
        if j >= m or np.any(beta == 0):
            return True
        if j < 2 or j % _CHECK:
            return False
        T = _tridiag_full(alpha, beta)  # (j+1) × j
        y = _damped_lstsq(T[:j, : j - 1], 1.0, 0.0)  # MINRES iterate of K_{j−1}; β₀ = 1 (scale-free test)
        rho = np.zeros(j)
        rho[0] = 1.0
        rho += T[:j, : j - 1] @ y
        return float(np.linalg.norm(T[:, :j] @ rho)) <= rtol * float(np.hypot(alpha[0], beta[0]))

    alpha, beta, Q, _ = lanczos(H, g, m + 1, stop=keep)
    k = len(alpha)
    b_next = seen["b"][-1] if "a" in seen and len(seen["a"]) == k else 0.0
    if np.any(beta == 0):  # breakdown: keep the invariant block
        k = int(np.flatnonzero(beta == 0)[0]) + 1
        b_next = 0.0
    return Q[:k], _tridiag_full(alpha[:k], np.append(beta[: k - 1], b_next))


def _tridiag_full(alpha, beta):
    """The (k+1) × k matrix T̃ from α_0..α_{k−1} and β_1..β_k."""
    k = len(alpha)
    T = np.zeros((k + 1, k))
    T[np.arange(k), np.arange(k)] = alpha
    T[np.arange(1, k + 1), np.arange(k)] = beta[:k]
    T[np.arange(k - 1), np.arange(1, k)] = beta[: k - 1]
    return T


def _damped_lstsq(Tt, beta0, mu):
    """argmin_y ‖β₀e₁ + T̃y‖² + μ‖y‖² (the minimum-norm solution when μ = 0)."""
    k = Tt.shape[1]
    rhs = np.zeros(Tt.shape[0] + (k if mu > 0 else 0))
    rhs[0] = -beta0
    A = np.vstack([Tt, math.sqrt(mu) * np.eye(k)]) if mu > 0 else Tt
    return np.linalg.lstsq(A, rhs, rcond=None)[0]


def load_flat(model, space: ParamSpace, theta: torch.Tensor) -> None:
    """Write a flat θ into ``model``'s parameters (a private copy)."""
    named = dict(model.named_parameters())
    with torch.no_grad():
        for n, t in space.unflatten(theta).items():
            named[n].copy_(t)
