"""Union bounds over geometric grids: how every bound here pays for data-dependent choices.

All bounds hold with probability ≥ 1 − δ over an i.i.d. training sample of size n. Data-dependent
quantities (norms, margin γ) are chosen after seeing the data, so every bound is made uniform by
a union bound over geometric grids: a quantity t > 0 is rounded to t' = base^j on the safe side
(norms up, γ down) and the grid point j is charged δ·w_j with w_j = 2 / (3 (|j|+1)(|j|+2))
(Σ_{j∈ℤ} w_j = 1), i.e. ln(1/δ) grows by ln(1.5 (|j|+1)(|j|+2)). A bound is then minimized over
the γ grid, which the union bound covers.
"""
from __future__ import annotations

import math

import torch

__all__ = ["round_to_grid", "gamma_grid"]


def round_to_grid(t: float, base: float, up: bool) -> tuple[float, float]:
    """(t rounded to the grid base^j, the union-bound cost ln(1/w_j))."""
    j = math.log(t) / math.log(base)
    j = math.ceil(j - 1e-12) if up else math.floor(j + 1e-12)
    return base ** j, math.log(1.5 * (abs(j) + 1) * (abs(j) + 2))


def gamma_grid(m: torch.Tensor, base: float) -> list[float]:
    pos = m[m > 0]
    if len(pos) == 0:
        return []
    lo, hi = float(pos.min()), float(pos.max())
    j0, j1 = math.floor(math.log(lo) / math.log(base)), math.ceil(math.log(hi) / math.log(base))
    return [base ** j for j in range(j0, j1 + 1)]
