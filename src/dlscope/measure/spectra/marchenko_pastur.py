"""The Marchenko–Pastur law: the eigenvalue density of WᵀW for a random W of the same shape.

Marchenko & Pastur 1967: for W with N × M i.i.d. entries of variance v (N ≥ M, q = M/N ≤ 1),
the M eigenvalues of WᵀW / N have, as N, M → ∞ at fixed q, the density

    ρ(λ) = √((λ₊ − λ)(λ − λ₋)) / (2π v q λ),    λ± = v (1 ± √q)²,    mean v.

Without the 1/N the eigenvalues of WᵀW follow the same law with v replaced by N v — which is
their mean. So the comparison here needs no variance fit: s = mean eigenvalue (= ‖W‖²_F / M),
λ± = s (1 ± √q)². Martin & Mahoney (JMLR 2021) read a trained layer against this law: eigenvalues
beyond λ₊ ("spikes") and a heavy tail are structure a random matrix of that shape lacks.

Finite-size caveat: for a finite random matrix λ_max exceeds λ₊ by O(N^{−2/3}) (Tracy–Widom), so
one or two "spikes" just above the edge are expected even for pure noise; ``max_over_edge``
(λ_max / λ₊) says by how much the edge is crossed.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["mp_edges", "mp_density", "mp_cdf", "mp_compare"]


def mp_edges(q: float, scale: float = 1.0) -> tuple[float, float]:
    """(λ₋, λ₊) = scale (1 ∓ √q)² for aspect ratio q = M/N ∈ (0, 1]."""
    if not 0 < q <= 1:
        raise ValueError(f"q must lie in (0, 1], got {q}")
    r = math.sqrt(q)
    return scale * (1 - r) ** 2, scale * (1 + r) ** 2


def mp_density(x, q: float, scale: float = 1.0) -> np.ndarray:
    """ρ(x) of the law with mean ``scale`` (zero outside [λ₋, λ₊])."""
    a, b = mp_edges(q, scale)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > a) & (x < b)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((b - xi) * (xi - a)) / (2 * math.pi * scale * q * xi)
    return out


def mp_cdf(x, q: float, scale: float = 1.0, points: int = 4001) -> np.ndarray:
    """∫_{λ₋}^x ρ. Computed with λ = λ₋ + (λ₊ − λ₋)(1 − cos θ)/2, which turns the square-root
    edges into the smooth integrand ((λ₊ − λ₋)/2)² sin²θ / (2π s q λ(θ)) (trapezoid rule)."""
    a, b = mp_edges(q, scale)
    theta = np.linspace(0.0, math.pi, points)
    lam = a + (b - a) * (1 - np.cos(theta)) / 2
    integrand = ((b - a) / 2) ** 2 * np.sin(theta) ** 2 / (2 * math.pi * scale * q * np.maximum(lam, 1e-300))
    cum = np.concatenate([[0.0], np.cumsum((integrand[1:] + integrand[:-1]) / 2 * np.diff(theta))])
    cum /= cum[-1]  # exact total is 1; removes the quadrature's O(h²) error
    return np.interp(np.asarray(x, dtype=np.float64), lam, cum, left=0.0, right=1.0)


def mp_compare(eigenvalues, rows: int, cols: int) -> dict:
    """A layer's eigenvalues of WᵀW against the law for a random rows × cols matrix.

    Returns q = min/max, the mean eigenvalue s, the edges, ``num_spikes`` (#λ > λ₊),
    ``max_over_edge`` (λ_max/λ₊) and ``mp_ks`` (sup |F_empirical − F_MP|, two-sided).
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64).reshape(-1))
    q = min(rows, cols) / max(rows, cols)
    s = float(lam.mean())
    lo, hi = mp_edges(q, s) if s > 0 else (0.0, 0.0)
    if s <= 0:
        return {"q": q, "scale": s, "lambda_minus": lo, "lambda_plus": hi, "num_spikes": 0,
                "max_over_edge": math.nan, "mp_ks": math.nan}
    n = len(lam)
    F = mp_cdf(lam, q, s)
    k = np.arange(n)
    ks = float(max(np.max(np.abs(F - k / n)), np.max(np.abs((k + 1) / n - F))))
    return {"q": q, "scale": s, "lambda_minus": lo, "lambda_plus": hi, "num_spikes": int((lam > hi).sum()),
            "max_over_edge": float(lam[-1] / hi), "mp_ks": ks}
