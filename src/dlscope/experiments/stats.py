"""Statistics over seeds for claims: means with their uncertainty, and differences that count.

A claim compares quantities measured on several seeds. ``mean_sd`` summarizes one quantity;
``difference`` decides whether a mean difference is real: the mean of the paired (or unpaired)
differences and its standard error se, and ``significant`` = |mean| > z·se with z = 2 (≈ 95 %
two-sided under a normal approximation). With one seed there is no spread: ``se`` is None and the
difference is not evaluable (``significant`` None), which a claim reports as such.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_sd", "mean_se", "difference"]


def mean_sd(values) -> tuple[float, float]:
    """(mean, sample standard deviation) rounded for reports; sd is 0 for a single value."""
    v = np.asarray(list(values), dtype=float)
    return (round(float(v.mean()), 6), round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 6))


def mean_se(values) -> tuple[float, float | None]:
    """(mean, standard error of the mean); se is None for fewer than two values."""
    v = np.asarray(list(values), dtype=float)
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None
    return float(v.mean()), se


def difference(a, b, *, paired: bool = True, z: float = 2.0) -> dict:
    """mean(a) − mean(b) with its standard error (paired over seeds by default).

    Returns {"diff", "se", "n", "z", "significant"}: significant is True/False when a spread exists
    (n ≥ 2), else None; its sign is the sign of diff.
    """
    a, b = np.asarray(list(a), float), np.asarray(list(b), float)
    if paired:
        if len(a) != len(b):
            raise ValueError("paired difference needs as many values in a as in b")
        d, se = mean_se(a - b)
    else:
        d = float(a.mean() - b.mean())
        se = (math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
              if len(a) > 1 and len(b) > 1 else None)
    sig = None if se is None else bool(abs(d) > z * se)
    return {"diff": round(d, 6), "se": None if se is None else round(se, 6), "n": int(min(len(a), len(b))), "z": z,
            "significant": sig}
