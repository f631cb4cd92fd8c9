"""The two monotone searches of the instruments: a real threshold (in log scale) and an integer one.

* :func:`largest_true` — the largest s > 0 with ok(s), ok (nearly) decreasing in s: bracket by
  doubling/halving from a start, then bisect in log s until hi/lo ≤ 1 + rel_tol (flatness
  searches: PAC-Bayes σ′, worst-case α′).
* :func:`smallest_true` — the smallest integer m ≥ 1 with ok(m), ok monotone (false then true):
  doubling, then bisection (VC-dimension bounds by the growth function, the n at which a bound
  stops being vacuous).
"""
from __future__ import annotations

import math
from typing import Callable

__all__ = ["largest_true", "smallest_true"]


def largest_true(ok: Callable[[float], bool], start: float, rel_tol: float, max_iter: int):
    """(lo, hi, converged) with ok(lo), not ok(hi), hi/lo ≤ 1 + rel_tol when converged.

    If ok never fails (or never holds) within 2^±60 of ``start``, returns (lo, inf, False)
    (or (0, hi, False)).
    """
    lo, hi = None, None
    s = start
    if ok(s):
        lo = s
        for _ in range(60):
            if not ok(2 * lo):
                hi = 2 * lo
                break
            lo *= 2
    else:
        hi = s
        for _ in range(60):
            if ok(hi / 2):
                lo = hi / 2
                break
            hi /= 2
    if lo is None or hi is None:
        return lo if lo is not None else 0.0, hi if hi is not None else math.inf, False
    it = 0
    while hi / lo > 1 + rel_tol and it < max_iter:
        mid = math.sqrt(lo * hi)
        if ok(mid):
            lo = mid
        else:
            hi = mid
        it += 1
    return lo, hi, hi / lo <= 1 + rel_tol


def smallest_true(ok: Callable[[int], bool]) -> int:
    """The smallest integer m ≥ 1 with ok(m), for ok false below some m* and true from there on."""
    hi = 1
    while not ok(hi):
        hi *= 2
    lo = hi // 2  # ok(lo) is false (or lo = 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
