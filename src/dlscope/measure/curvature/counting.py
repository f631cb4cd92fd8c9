"""The fraction of eigenvalues below a threshold, with a rigorous quadrature bracket.

For a unit probe q the spectral measure μ_q = Σ_i (v_iᵀq)² δ_{λ_i} has the distribution function
F_q(x) = μ_q(−∞, x) = qᵀ 1[H < x] q, and for q = z/√n with Rademacher z, E F_q(x) = #{λ_i < x}/n:
the Hessian index of Dauphin et al. (2014) with x = −τ.

Why the Gauss rule is not enough. m Lanczos steps from q give the Jacobi matrix of μ_q and the
Gauss rule (nodes θ_j, weights w_j) that stochastic Lanczos quadrature uses; Σ_{θ_j < x} w_j is
a step function of x that jumps by a whole node weight, and a node near x carries all the mass
within about one node spacing, π √((x − λ_min)(λ_max − x)) / m. Deep-net Hessians put a large
fraction of their eigenvalues within 10⁻³ λ_max of 0 (measured at initialization of a 4.8k MLP on
mnist1d: 15% in ±10⁻³ λ_max), exactly where the index threshold lies, so the Gauss count is
off by tens of percentage points, in either direction, and the probe-to-probe spread says
nothing about it.

The bracket. The moments of μ_q up to degree 2m are known from (α_0..α_{m−1}, β_1..β_m). The
Gauss–Radau rule with a node prescribed at x (Golub 1973: α̃_m = x + δ_m with
(T_m − x I) δ = β_m² e_m) has weight w_x = ρ_m(x) = 1/Σ_{k=0}^m p_k(x)² at x (the Christoffel
function; p_k the orthonormal polynomials of μ_q), and the Chebyshev–Markov–Stieltjes
inequalities (Akhiezer 1965, *The Classical Moment Problem*, Ch. 3; Freud 1971, §II.5; Golub &
Meurant 2010, *Matrices, Moments and Quadrature*, §6.2) bound every measure with those moments:

    L_q(x) = Σ_{θ_j < x} w_j ≤ F_q(x) ≤ L_q(x) + w_x = U_q(x).

The bracket is sharp (some measure with those moments attains either end) and shrinks as the
steps resolve the mass near x; when the Krylov space becomes invariant (m = n, or a breakdown)
the Gauss rule is μ_q itself and F_q(x) is exact.

The estimate over P probes: value = mean_p of the bracket midpoints M_p = L_p + w_{x,p}/2; its
quadrature error is at most h = mean_p w_{x,p}/2 (deterministic), its sampling error has
standard deviation s/√P (s = sd of M_p). The reported ``stderr`` is s/√P + h/2, so that
value ± 2·stderr contains the whole bracket widened by two sampling standard errors: honest
whatever the spectrum, wide when the mass near x is not resolved. Each probe runs until its
bracket is narrower than 2·``tol`` (or ``max_steps``).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal, solve_banded

from .._core.random import generator, rademacher
from .._core.result import Result
from .base import as_operator
from .lanczos import lanczos

__all__ = ["fraction_below", "quadrature_bracket", "probe_bracket", "bracket_summary"]


def quadrature_bracket(alpha, beta, x: float, *, exact: bool = False) -> tuple[float, float]:
    """(L, U) with L ≤ μ(−∞, x) ≤ U for the unit measure with Jacobi coefficients α, β.

    ``alpha`` = (α_0..α_{m−1}); ``beta`` = (β_1..β_m) including the coupling β_m to the next
    Lanczos vector (Gauss–Radau with m free nodes), or (β_1..β_{m−1}) (then m − 1 free nodes are
    used). ``exact``: the Gauss rule of (α, β_1..β_{m−1}) *is* the measure (an invariant Krylov
    space); then L = U = Σ_{θ_j < x} w_j.
    """
    alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    m = len(alpha)
    if exact:
        theta, w = _gauss(alpha, beta[: m - 1])
        low = float(w[theta < x].sum())
        return low, low
    if len(beta) < m:  # no coupling to a next vector: Radau on the first m − 1 steps
        alpha, m = alpha[: m - 1], m - 1
        if m == 0:
            return 0.0, 1.0
    a, b = alpha[:m], beta[:m]
    # Golub (1973): (T_m − x I) δ = β_m² e_m, then the last diagonal entry x + δ_m puts a node at x.
    rhs = np.zeros(m)
    rhs[-1] = b[-1] ** 2
    band = np.zeros((3, m))
    band[0, 1:], band[1], band[2, :-1] = b[: m - 1], a - x, b[: m - 1]
    try:
        delta = solve_banded((1, 1), band, rhs)
    except np.linalg.LinAlgError:  # x is a Gauss node: the Gauss rule's own bracket at that node
        theta, w = _gauss(a, b[: m - 1])
        k = int(np.argmin(np.abs(theta - x)))
        return float(w[theta < theta[k]].sum()), float(w[theta <= theta[k]].sum())
    theta, w = _gauss(np.append(a, x + delta[-1]), b)
    k = int(np.argmin(np.abs(theta - x)))  # the prescribed node
    low = float(w[:k].sum())  # theta is ascending
    return low, min(1.0, low + float(w[k]))


def fraction_below(op, x: float, *, max_steps: int = 200, tol: float = 0.005, num_probes: int = 8,
                   seed: int = 0, probes=None) -> Result:
    """#{λ_i < x}/n of a symmetric operator with an honest error bar (see module docstring).

    Args:
        op: a :class:`CurvatureOperator` (or a dense symmetric matrix).
        x: the threshold.
        max_steps: at most this many Lanczos steps (products) per probe.
        tol: a probe stops once its bracket width w_x ≤ 2·tol.
        num_probes: P Rademacher probes (normalized), seeded by ``seed``.
        probes: an n × P tensor of probes to use instead (each normalized; the estimate is unbiased
            only for probes with E[q qᵀ] ∝ I).

    Returns:
        Result with value = mean bracket midpoint, stderr = s/√P + h/2; extra: bracket
        (mean L, mean U), halfwidth h, sampling_stderr s/√P, interval (mean L − 2s/√P, mean U +
        2s/√P), per-probe lower/upper and steps, resolved (h ≤ tol).
    """
    op = as_operator(op)
    n = op.shape[0]
    gen = generator(seed)
    if probes is not None:
        probes = torch.as_tensor(probes)
        if probes.dim() != 2 or probes.shape[0] != n:
            raise ValueError(f"probes must have shape ({n}, P), got {tuple(probes.shape)}")
        num_probes = probes.shape[1]
    if num_probes < 2:
        raise ValueError("fraction_below needs at least 2 probes (its error bar is their spread)")
    lows, ups, steps = [], [], []
    for j in range(num_probes):
        z = rademacher(n, None, gen, op.device) if probes is None else probes[:, j].to(op.device)
        watch = _Watch(x, 2 * tol, max_steps)
        alpha, beta, _, _ = lanczos(op, z, max_steps + 1, generator=gen, stop=watch)
        low, up = probe_bracket(alpha, beta, x, n, watch.alpha, watch.beta)
        lows.append(low)
        ups.append(up)
        steps.append(len(alpha))
    value, stderr, extra = bracket_summary(lows, ups)
    extra.update(steps=steps, resolved=extra["halfwidth"] <= tol, num_matvecs=int(sum(steps)))
    settings = {**op.settings, "method": "lanczos-gauss-radau-bracket", "threshold": x, "max_steps": max_steps,
                "tol": tol, "num_probes": num_probes, "seed": seed,
                "probes": "rademacher" if probes is None else "given"}
    return Result("fraction_below", value, stderr, settings, extra)


def bracket_summary(lows, ups) -> tuple[float, float, dict]:
    """(value, stderr, extra) from per-probe brackets: the mean midpoint; stderr = s/√P + h/2."""
    lows, ups = np.asarray(lows, dtype=float), np.asarray(ups, dtype=float)
    P = len(lows)
    mids = 0.5 * (lows + ups)
    h = float(0.5 * (ups - lows).mean())
    se = float(mids.std(ddof=1) / math.sqrt(P)) if P > 1 else math.nan
    lo, up = float(lows.mean()), float(ups.mean())
    extra = {"bracket": [lo, up], "halfwidth": h, "sampling_stderr": se,
             "interval": [max(0.0, lo - 2 * se), min(1.0, up + 2 * se)] if P > 1 else [lo, up],
             "lower": lows.tolist(), "upper": ups.tolist()}
    return float(mids.mean()), (se + 0.5 * h if P > 1 else None), extra


class _Watch:
    """Lanczos stop rule: the Christoffel function ρ_j(x) = 1/Σ_{k≤j} p_k(x)², updated in O(1) a step
    (p_{k+1} = ((x − α_k) p_k − β_k p_{k−1}) / β_{k+1}); stop once ρ ≤ ``width`` or after ``cap`` steps.
    Keeps the coefficients (α_0..α_j, β_1..β_{j+1}) of the last step it saw."""

    def __init__(self, x, width, cap):
        self.x, self.width, self.cap = x, width, cap
        self.k, self.p_prev, self.p, self.s = 0, 0.0, 1.0, 1.0
        self.alpha = self.beta = None

    def __call__(self, alpha, beta):
        self.alpha, self.beta = alpha, beta
        if np.any(beta == 0):  # an earlier breakdown: the measure is resolved
            return True
        while self.k < len(alpha) and self.s < 1e200:
            k = self.k
            nxt = ((self.x - alpha[k]) * self.p - (beta[k - 1] * self.p_prev if k else 0.0)) / beta[k]
            self.p_prev, self.p = self.p, nxt
            self.s += nxt * nxt
            self.k += 1
        return 1.0 / self.s <= self.width or len(alpha) >= self.cap


def probe_bracket(alpha, beta, x, n, alpha_next=None, beta_next=None):
    """The bracket of one probe from a Lanczos run (α, β as :func:`lanczos` returns them), using
    the coupling to the next vector when the run's stop rule saw it (``alpha_next``, ``beta_next``)."""
    m = len(alpha)
    zero = np.flatnonzero(beta[: m - 1] == 0)
    if len(zero):  # breakdown: the first block's Gauss rule is the probe's measure
        j = int(zero[0]) + 1
        return quadrature_bracket(alpha[:j], beta[: j - 1], x, exact=True)
    if m >= n:
        return quadrature_bracket(alpha, beta, x, exact=True)
    if alpha_next is not None and len(alpha_next) == m:
        return quadrature_bracket(alpha_next, beta_next, x)
    return quadrature_bracket(alpha, beta, x)


def _gauss(alpha, beta):
    if len(alpha) == 1:
        return np.asarray(alpha, dtype=float), np.ones(1)
    theta, S = eigh_tridiagonal(alpha, beta)
    return theta, S[0] ** 2
