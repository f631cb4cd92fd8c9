"""The divergences of a PAC-Bayes certificate: Bernoulli kl, its inverse, and the KL of diagonal Gaussians.

* Bernoulli kl:  kl(q‖p) = q ln(q/p) + (1 − q) ln((1 − q)/(1 − p)),  with 0 ln 0 = 0.
* Its upper inverse (Langford & Caruana 2002; Dziugaite & Roy 2017, §2 and Appendix B;
  Pérez-Ortiz et al. 2021, §2 "inv_kl"):  kl⁻¹(q, c) = sup{p ∈ [q, 1] : kl(q‖p) ≤ c}.
  p ↦ kl(q‖p) is 0 at p = q and increases strictly to +∞ as p → 1 (for q < 1), so the sup is the
  unique root of kl(q‖p) = c in [q, 1), found by bisection in float64: every step keeps
  kl(q‖lo) ≤ c < kl(q‖hi), and ``hi`` is returned once hi − lo ≤ ``tol`` (1e-12), so the result is
  never below the true inverse and exceeds it by at most ``tol`` — the side that keeps a bound valid.
  Closed cases: kl⁻¹(0, c) = 1 − e^{−c}; kl⁻¹(q, 0) = q; kl⁻¹(1, c) = 1.
* KL of diagonal Gaussians (Dziugaite & Roy 2017, eq. in §3 "KL(Q‖P)"; Pérez-Ortiz et al. 2021,
  eq. (10)):  KL(N(μ_q, diag v_q) ‖ N(μ_p, diag v_p)) = ½ Σ_i [v_q,i/v_p,i + (μ_q,i − μ_p,i)²/v_p,i − 1
  + ln(v_p,i/v_q,i)],  accumulated in float64 (a sum of ~10⁶ terms of mixed sign).
"""
from __future__ import annotations

import math

import torch

__all__ = ["kl_bernoulli", "kl_inverse", "gaussian_kl"]


def kl_bernoulli(q: float, p: float) -> float:
    """kl(q‖p) between Bernoulli(q) and Bernoulli(p), in nats (+inf where p ∈ {0, 1} and q ≠ p)."""
    q, p = float(q), float(p)
    if not (0.0 <= q <= 1.0 and 0.0 <= p <= 1.0):
        raise ValueError(f"kl_bernoulli needs q, p in [0, 1], got q={q}, p={p}")
    out = 0.0
    if q > 0:
        out += math.inf if p == 0 else q * math.log(q / p)
    if q < 1:
        out += math.inf if p == 1 else (1 - q) * math.log((1 - q) / (1 - p))
    return out


def kl_inverse(q: float, c: float, *, tol: float = 1e-12) -> float:
    """kl⁻¹(q, c) = sup{p ∈ [q, 1] : kl(q‖p) ≤ c} (module docstring), to ``tol`` from above."""
    q, c = float(q), float(c)
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"kl_inverse needs q in [0, 1], got {q}")
    if not c >= 0.0:
        raise ValueError(f"kl_inverse needs c ≥ 0, got {c}")
    if q >= 1.0 or math.isinf(c):
        return 1.0
    if c == 0.0:
        return q
    if q == 0.0:
        return -math.expm1(-c)  # kl(0‖p) = −ln(1 − p)
    lo, hi = q, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:  # float64 resolution reached
            break
        if kl_bernoulli(q, mid) > c:
            hi = mid
        else:
            lo = mid
    return hi


def gaussian_kl(mean_q, var_q, mean_p, var_p) -> float:
    """KL(N(mean_q, diag var_q) ‖ N(mean_p, diag var_p)) in nats, float64 (arguments broadcast)."""
    tensors = [torch.as_tensor(t, dtype=torch.float64) for t in (mean_q, var_q, mean_p, var_p)]
    mq, vq, mp, vp = torch.broadcast_tensors(*tensors)
    if (vq <= 0).any() or (vp <= 0).any():
        raise ValueError("gaussian_kl needs positive variances")
    terms = vq / vp + (mq - mp) ** 2 / vp - 1.0 + torch.log(vp) - torch.log(vq)
    return float(0.5 * terms.sum())
