"""Maximum-likelihood power-law fit of a sample's tail, x_min chosen by the KS distance.

Clauset, Shalizi & Newman 2009 ("Power-law distributions in empirical data", SIAM Review 51,
§3): for a continuous density p(x) = ((α − 1)/x_min) (x/x_min)^{−α} on x ≥ x_min, the MLE from
the n_tail values x_i ≥ x_min is

    α̂ = 1 + n_tail / Σ_i ln(x_i / x_min),         stderr(α̂) = (α̂ − 1) / √n_tail   (their eq. 3.2),

and x_min is the candidate (an observed value) that minimizes the Kolmogorov–Smirnov distance
D = max_{x ≥ x_min} |S(x) − P(x)| between the empirical CDF S of the tail and the fitted CDF
P(x) = 1 − (x / x_min)^{1−α̂} (their §3.3). D is the two-sided sup over the steps of S (both
the value before and after each jump), as in ``scipy.stats.kstest``.

Martin & Mahoney's heavy-tailed self-regularization ("Implicit self-regularization in deep
neural networks", JMLR 2021; the ``weightwatcher`` package) fit this law to the eigenvalues of
WᵀW, ρ(λ) ∝ λ^{−α}: the same exponent convention (the density's, not the CCDF's, so α > 1;
trained layers are reported with α ≈ 2–6).

Choices made here, recorded in ``settings``: a tail must hold at least ``min_tail`` values
(tiny tails give small D by chance; CSN's Fig. 3 shows x_min estimates are unstable there);
with more than ``max_candidates`` distinct candidates, that many are taken evenly in rank
(x_min is then known to that resolution). The stderr is CSN's asymptotic one for a *given*
x_min; it does not include the variability of the x_min choice.
"""
from __future__ import annotations

import math

import numpy as np

from .._core.result import Result

__all__ = ["fit_power_law"]


def _ks_distances(x: np.ndarray, logs: np.ndarray, idx: np.ndarray, log_lo: np.ndarray, alpha: np.ndarray,
                  chunk_elems: int = 1 << 20) -> np.ndarray:
    """For each candidate c, sup |S − P| over the sorted tail x[idx_c:], over both sides of every
    step of the empirical CDF S. With u_k = P(x_k) − k/m that is max(max_k u_k, 1/m − min_k u_k).
    Candidates (ascending ``idx``) are processed in chunks of ≈ ``chunk_elems`` array entries."""
    n, out = len(x), np.empty(len(idx))
    a = 0
    while a < len(idx):
        width = n - idx[a]
        b = min(len(idx), a + max(1, chunk_elems // width))
        i = idx[a:b, None]
        k = np.arange(idx[a], n)[None, :] - i
        m = (n - i).astype(np.float64)
        # (1 − α) ln(x/x_min) ≤ 0 on every tail entry (α > 1, x ≥ x_min); entries left of a candidate's
        # x_min (k < 0, masked below) are clipped so they cannot overflow
        arg = np.minimum((1.0 - alpha[a:b, None]) * (logs[None, idx[a]:] - log_lo[a:b, None]), 0.0)
        u = -np.expm1(arg) - k / m
        hi = np.where(k >= 0, u, -np.inf).max(axis=1)
        lo = np.where(k >= 0, u, np.inf).min(axis=1)
        out[a:b] = np.maximum(hi, 1.0 / m[:, 0] - lo)
        a = b
    return out


def fit_power_law(values, *, x_min: float | None = None, min_tail: int = 10,
                  max_candidates: int = 2000) -> Result:
    """α̂, x_min and the KS distance of the power-law tail of ``values`` (module docstring).

    Args:
        values: a 1-D sample of positive numbers (e.g. eigenvalues of WᵀW); non-positive and
            non-finite entries are dropped (their count is in ``extra["dropped"]``).
        x_min: fix the lower cut-off instead of choosing it by the KS distance.
        min_tail: fewest values a tail may hold.
        max_candidates: at most this many x_min candidates (evenly spaced in rank).

    Returns:
        Result with value α̂, stderr (α̂ − 1)/√n_tail; extra holds x_min, ks_distance, n_tail,
        n (values used), dropped, candidates (how many x_min were tried). NaN α when fewer
        than ``min_tail`` usable values exist.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    keep = np.isfinite(v) & (v > 0)
    x = np.sort(v[keep])
    n = len(x)
    settings = {"method": "mle + ks (Clauset, Shalizi & Newman 2009)", "min_tail": min_tail,
                "max_candidates": max_candidates, "x_min_given": x_min}
    base = {"n": n, "dropped": int((~keep).sum())}
    if n < max(min_tail, 2):
        return Result("power_law_alpha", math.nan, math.nan, settings,
                      {**base, "x_min": math.nan, "ks_distance": math.nan, "n_tail": 0, "candidates": 0,
                       "note": f"fewer than {max(min_tail, 2)} positive values"})
    logs = np.log(x)
    suffix = np.cumsum(logs[::-1])[::-1]  # suffix[i] = Σ_{j ≥ i} ln x_j
    if x_min is not None:
        idx = np.array([int(np.searchsorted(x, x_min, side="left"))])
        if n - idx[0] < 2:
            raise ValueError(f"x_min={x_min} leaves fewer than 2 values in the tail")
    else:
        # first index of each distinct value whose tail is long enough
        first = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
        idx = first[n - first >= min_tail]
        if len(idx) > max_candidates:
            idx = idx[np.unique(np.linspace(0, len(idx) - 1, max_candidates).round().astype(int))]
    lo = x[idx] if x_min is None else np.full(len(idx), float(x_min))
    m = n - idx
    denom = suffix[idx] - m * np.log(lo)
    ok = denom > 0  # a tail whose values all equal x_min has no power law to fit
    idx, lo, m, alpha = idx[ok], lo[ok], m[ok], 1.0 + m[ok] / denom[ok]
    d = _ks_distances(x, logs, idx, np.log(lo), alpha)
    best = None if not len(d) else int(np.argmin(d))
    if best is None:
        return Result("power_law_alpha", math.nan, math.nan, settings,
                      {**base, "x_min": math.nan, "ks_distance": math.nan, "n_tail": 0, "candidates": len(idx),
                       "note": "no candidate tail has distinct values"})
    a, t = float(alpha[best]), int(m[best])
    return Result("power_law_alpha", a, (a - 1.0) / math.sqrt(t), settings,
                  {**base, "x_min": float(lo[best]), "ks_distance": float(d[best]), "n_tail": t,
                   "candidates": len(idx)})
