"""The pieces of a PAC-Bayes certificate: the Monte-Carlo term, the PAC-Bayes-kl bound, the λ grid.

All bounds are in terms of :func:`.kl.kl_inverse` and hold with the stated probability.

* **Sample convergence** (Langford & Caruana 2002, used by Dziugaite & Roy 2017, §4 "the SNN
  error is estimated by Monte Carlo"; Pérez-Ortiz et al. 2021, ``pbb/bounds.py``
  ``compute_final_stats_risk``): if X_1..X_N are independent, X_k ∈ [0, 1], and their mean has
  expectation ê, then with probability ≥ 1 − δ′,  ê ≤ kl⁻¹(X̄, ln(2/δ′) / N)  (Chernoff; Hoeffding
  1963, Thm 1, which needs independence but not identical distributions). Here X_k is the error
  of one network drawn from Q on one batch of the data, so N counts (draws × batches) when all
  batches have equal sizes (:func:`mc_error_bound`).
* **PAC-Bayes-kl** (Seeger 2002; Maurer 2004; Pérez-Ortiz et al. 2021, ``pbb/bounds.py``
  ``risk_01``): for a prior P chosen without the n examples, with probability ≥ 1 − δ, for every
  posterior Q at once,  kl(ê_Q ‖ e_Q) ≤ (KL(Q‖P) + ln(2√n/δ)) / n,  hence
  e_Q ≤ kl⁻¹(ê_Q, (KL(Q‖P) + ln(2√n/δ)) / n)  (:func:`pacbayes_kl_bound`). Dziugaite & Roy use
  the older (KL + ln(n/δ)) / (n − 1) (Langford & Seeger 2001); ln(2√n/δ)/n is smaller for n ≥ 8.
* **Union bound over the prior variance** (Dziugaite & Roy 2017, §3; ``snn/core/network.py``
  ``PACB_objective`` and ``evaluate_SNN_accuracy``): the prior N(w₀, λI) may use any
  λ_j = c·exp(−j/b), j = 1, 2, …  (b = 100, c = 0.1) if prior j is charged δ_j = 6δ/(π² j²)
  (Σ_j δ_j = δ), i.e. ln(2√n/δ) grows by ln(π² j²/6) = 2 ln j + ln(π²/6) (:func:`grid_cost`).
  Since the bound then holds for all j simultaneously, the certificate may take the best j.
"""
from __future__ import annotations

import math

import numpy as np

from .kl import kl_inverse

__all__ = ["mc_error_bound", "pacbayes_kl_bound", "prior_variance", "grid_index", "grid_cost", "best_grid_point"]


def mc_error_bound(error: float, samples: int, delta_mc: float = 0.01) -> float:
    """kl⁻¹(error, ln(2/δ′)/samples): an upper bound on the mean of ``samples`` independent
    [0, 1]-valued draws whose average is ``error``, holding with probability ≥ 1 − δ′."""
    if samples < 1:
        raise ValueError(f"samples must be ≥ 1, got {samples}")
    if not 0 < delta_mc < 1:
        raise ValueError(f"delta_mc must lie in (0, 1), got {delta_mc}")
    return kl_inverse(error, math.log(2 / delta_mc) / samples)


def pacbayes_kl_bound(empirical: float, kl: float, n: int, delta: float, extra_cost: float = 0.0) -> float:
    """kl⁻¹(empirical, (KL + ln(2√n/δ) + extra_cost) / n): Maurer's PAC-Bayes-kl bound (module
    docstring); ``extra_cost`` is what a union bound charges (e.g. :func:`grid_cost`)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    if kl < 0:
        raise ValueError(f"KL must be ≥ 0, got {kl}")
    return kl_inverse(empirical, (kl + math.log(2 * math.sqrt(n) / delta) + extra_cost) / n)


def prior_variance(j, b: float = 100.0, c: float = 0.1):
    """λ_j = c·exp(−j/b), the prior variances the union bound covers (j = 1, 2, …)."""
    return c * np.exp(-np.asarray(j, dtype=np.float64) / b)


def grid_index(lam, b: float = 100.0, c: float = 0.1):
    """The continuous grid coordinate j(λ) = b ln(c/λ) (the inverse of :func:`prior_variance`)."""
    return b * np.log(c / np.asarray(lam, dtype=np.float64))


def grid_cost(j):
    """ln(1/w_j) with w_j = 6/(π² j²): 2 ln j + ln(π²/6), the union-bound charge of grid point j ≥ 1."""
    j = np.asarray(j, dtype=np.float64)
    if (j < 1).any():
        raise ValueError("grid points start at j = 1")
    return 2 * np.log(j) + math.log(math.pi ** 2 / 6)


def best_grid_point(kl_of_variance, empirical: float, n: int, delta: float, *, b: float = 100.0,
                    c: float = 0.1, j_max: int = 5000) -> dict:
    """The grid point j ∈ {1, …, j_max} whose prior variance λ_j gives the smallest PAC-Bayes-kl bound.

    ``kl_of_variance(lams)`` returns KL(Q‖P_λ) for an array of variances. Returns the bound, j, λ_j,
    KL(Q‖P_j) and the union-bound cost at the best j (every j is covered by the union bound).
    """
    j = np.arange(1, j_max + 1, dtype=np.float64)
    kls = np.asarray(kl_of_variance(prior_variance(j, b, c)), dtype=np.float64)
    cost = grid_cost(j)
    # kl⁻¹ is increasing in its second argument: minimize (KL + cost) first, then invert once
    k = int(np.argmin(kls + cost))
    bound = pacbayes_kl_bound(empirical, float(kls[k]), n, delta, float(cost[k]))
    return {"bound": bound, "j": int(j[k]), "lambda": float(prior_variance(j[k], b, c)), "kl": float(kls[k]),
            "grid_cost": float(cost[k])}
