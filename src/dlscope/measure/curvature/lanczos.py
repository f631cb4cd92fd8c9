"""Extreme eigenvalues of a curvature operator by Lanczos with full reorthogonalization.

Lanczos (1950) builds an orthonormal basis Q_m of the Krylov space span{q, Hq, ..., H^{m-1}q}
in which H is tridiagonal, T_m = Q_mᵀ H Q_m. The eigenpairs (θ_i, s_i) of T_m give Ritz pairs
(θ_i, y_i = Q_m s_i) whose extreme members converge first. Full reorthogonalization (two passes
of classical Gram-Schmidt per step) keeps Q_m orthonormal to working precision, so no spurious
copies appear; at n ≲ 10^7 parameters and m ≲ 200 steps its cost is small next to a product.

Reported per eigenvalue (Parlett, *The Symmetric Eigenvalue Problem*, 1998, §11):
    value       the Rayleigh quotient ρ = yᵀHy of the unit Ritz vector y;
    residual    r = ‖H y − ρ y‖, computed explicitly from the stored products H Q_m;
    error bound min(r, r²/gap), gap = distance from ρ to the nearest other Ritz value — the
                residual bound |λ − ρ| ≤ r is rigorous, the gap bound uses the Ritz gap as an
                estimate of the true gap;
    converged   error bound ≤ max(tol·|ρ|, atol).
Single-vector Lanczos sees one vector per eigenspace: an exactly repeated eigenvalue appears
once until the Krylov space becomes invariant, after which the iteration continues from a fresh
random vector orthogonal to the basis: run to the end (``tol=0``) on a small problem and every
multiplicity is recovered; a run stopped by its tolerance reports a repeated eigenvalue once.
Like every Krylov method it cannot certify that no eigenvalue was missed: the residual bound
says an eigenvalue lies within r of ρ, not that it is the k-th largest.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal

from .._core.random import generator
from .._core.result import Result
from .base import as_operator

__all__ = ["top_eigenvalues", "bottom_eigenvalues", "extreme_eigenvalues"]


def top_eigenvalues(op, k: int = 1, *, tol: float = 1e-6, atol: float = 0.0, seed: int = 0,
                    max_steps: int | None = None, which: str = "largest",
                    return_eigenvectors: bool = False) -> Result:
    """The k algebraically largest (``which="largest"``) or smallest eigenvalues of ``op``, or both
    ends from one Krylov space (``which="both"``: value = [λ_1..λ_k (largest), λ_n..λ_{n−k+1} (smallest)],
    each converged once its error bound is ≤ max(tol·max|ρ|, atol), relative to the spectral radius).

    Args:
        op: a :class:`CurvatureOperator` (or a dense symmetric matrix).
        k: how many eigenvalues.
        tol, atol: stop once every wanted eigenvalue's error bound is ≤ max(tol·|λ|, atol);
            both 0: run all ``max_steps``.
        seed: seeds the Gaussian start vector.
        max_steps: at most this many products (default min(n, 100 + 10k)).
        return_eigenvectors: put the unit Ritz vectors (n × k, float64) in ``extra["eigenvectors"]``.

    Returns:
        Result with value = [λ_1, ..., λ_k] (descending for "largest", ascending for "smallest"),
        extra = residuals, error_bounds, converged (all) / converged_each, num_matvecs.
    """
    if which not in ("largest", "smallest", "both"):
        raise ValueError("which must be 'largest', 'smallest' or 'both'")
    op = as_operator(op)
    n = op.shape[0]
    if not 1 <= k <= (n // 2 if which == "both" else n):
        raise ValueError(f"k must be in [1, {n // 2 if which == 'both' else n}]")
    max_steps = min(n, 100 + 10 * k) if max_steps is None else min(n, max_steps)
    gen = generator(seed)
    q0 = torch.randn(n, generator=gen, dtype=torch.float64).to(op.device)

    def wanted(theta):
        idx = np.argsort(theta)
        if which == "both":
            return np.concatenate([idx[::-1][:k], idx[:k]])
        return idx[::-1][:k] if which == "largest" else idx[:k]

    def allowed(values):
        scale = np.full(len(values), np.max(np.abs(values))) if which == "both" else np.abs(values)
        return np.maximum(tol * scale, atol)

    def stop(alpha, beta):
        if len(alpha) < (2 * k if which == "both" else k):
            return False
        theta, S = _tridiag_eigh(alpha, beta[:-1])
        idx = wanted(theta)
        res = abs(beta[-1]) * np.abs(S[-1, idx])
        return bool(np.all(_bounds(theta, idx, res) <= allowed(theta[idx])))

    run_to_end = tol <= 0 and atol <= 0
    alpha, beta, Q, W = lanczos(op, q0, max_steps, generator=gen, stop=None if run_to_end else stop,
                                keep_products=True)
    theta, S = _tridiag_eigh(alpha, beta)
    idx = wanted(theta)
    Sk = torch.as_tensor(S[:, idx].copy(), dtype=torch.float64, device=Q.device)
    Y, HY = Q.T @ Sk, W.T @ Sk
    norms = Y.norm(dim=0)
    Y, HY = Y / norms, HY / norms
    rho = (Y * HY).sum(0)
    resid = (HY - Y * rho).norm(dim=0).cpu().numpy()
    rho_np = rho.cpu().numpy()
    theta_all = theta.copy()
    theta_all[idx] = rho_np
    bounds = _bounds(theta_all, idx, resid)
    conv = bounds <= allowed(rho_np)
    extra = {"residuals": resid.tolist(), "error_bounds": bounds.tolist(), "converged": bool(conv.all()),
             "converged_each": conv.tolist(), "num_matvecs": len(alpha),
             "ritz_values": np.sort(theta)[::-1].tolist()}
    if return_eigenvectors:
        extra["eigenvectors"] = Y
    settings = {**op.settings, "method": "lanczos-full-reorth", "k": k, "which": which, "tol": tol,
                "atol": atol, "seed": seed, "max_steps": max_steps}
    name = {"largest": "top_eigenvalues", "smallest": "bottom_eigenvalues", "both": "extreme_eigenvalues"}[which]
    return Result(name, rho_np.tolist(), None, settings, extra)


def bottom_eigenvalues(op, k: int = 1, **kwargs) -> Result:
    """The k algebraically smallest (most negative) eigenvalues; see :func:`top_eigenvalues`.

    Near-zero eigenvalues are hard to resolve relatively: pass ``atol`` (e.g. 1e-6·λ_max).
    """
    return top_eigenvalues(op, k, which="smallest", **kwargs)


def extreme_eigenvalues(op, k: int = 1, **kwargs) -> Result:
    """The k largest and k smallest eigenvalues from one Lanczos run; see :func:`top_eigenvalues`."""
    return top_eigenvalues(op, k, which="both", **kwargs)


def lanczos(op, q0: torch.Tensor, steps: int, *, generator: torch.Generator | None = None, stop=None,
            keep_products: bool = False):
    """Run up to ``steps`` Lanczos steps from q0 with full reorthogonalization (float64 basis).

    Returns (alpha, beta, Q, W): the diagonal (m) and off-diagonal (m-1) of T_m as numpy arrays,
    the basis Q (m × n) and, if ``keep_products``, W = H Q (m × n, else ``None``).
    ``stop(alpha, beta_with_next)`` is asked after each step; it sees β_{m} (the coupling to the
    next vector) as the last entry of its second argument.
    """
    n = op.shape[0]
    steps = min(steps, n)
    # The basis grows by doubling: most runs stop after a few dozen steps, and zero-filling
    # ``steps`` rows of n float64 up front cost as much as several products on a 15k-parameter net.
    cap = min(steps, 32)
    Q = torch.empty(cap, n, dtype=torch.float64, device=op.device)
    W = torch.empty(cap, n, dtype=torch.float64, device=op.device) if keep_products else None
    alpha, beta = [], []
    q = q0.to(torch.float64) / q0.norm()
    for j in range(steps):
        if j == Q.shape[0]:
            cap = min(steps, 2 * cap)
            Q = torch.cat([Q, Q.new_empty(cap - j, n)])
            W = torch.cat([W, W.new_empty(cap - j, n)]) if keep_products else None
        Q[j] = q
        w = op.matvec(q.to(op.dtype)).to(torch.float64)
        if keep_products:
            W[j] = w
        a = float(q @ w)
        w = w - a * q - (beta[-1] * Q[j - 1] if j else 0.0)
        for _ in range(2):  # CGS2: twice is enough (Giraud et al. 2005)
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        alpha.append(a)
        if j == steps - 1:
            break
        b = float(w.norm())
        scale = max(max(abs(x) for x in alpha), max(beta, default=0.0))
        breakdown = b <= 1e-10 * max(scale, 1e-300)
        if not breakdown and stop is not None and stop(np.array(alpha), np.array(beta + [b])):
            break
        if breakdown:
            # Invariant subspace found: restart orthogonally so repeated eigenvalues still appear.
            w = torch.randn(n, generator=generator, dtype=torch.float64).to(op.device)
            for _ in range(2):
                w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
            q, b = w / w.norm(), 0.0
        else:
            q = w / b
        beta.append(b)
    m = len(alpha)
    return np.array(alpha), np.array(beta[: m - 1]), Q[:m], (W[:m] if keep_products else None)


def _tridiag_eigh(alpha, beta):
    if len(alpha) == 1:
        return np.array(alpha, dtype=float), np.ones((1, 1))
    return eigh_tridiagonal(np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float))


def _bounds(theta, idx, res):
    """min(r, r²/gap) with gap the distance to the nearest other Ritz value."""
    out = np.empty(len(idx))
    for j, i in enumerate(idx):
        others = np.delete(theta, i)
        gap = np.min(np.abs(others - theta[i])) if len(others) else 0.0  # unknown: no gap bound
        out[j] = min(res[j], res[j] ** 2 / gap) if gap > 0 else res[j]
    return out
