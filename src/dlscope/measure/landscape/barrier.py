"""The one barrier definition, for loss and error and for every path (lines, curves, elastic bands).

    B = max_t [v(t) − ((1 − t) v(0) + t v(1))]

over the evaluated t (Frankle et al. 2020; Garipov et al. 2018 and Draxler et al. 2018 report the
same quantity along their curves): the largest rise of the path above the straight line between
its end values.
"""
from __future__ import annotations

import numpy as np

__all__ = ["barrier"]


def barrier(t, values) -> float:
    """max_t [v(t) − ((1−t) v(0) + t v(1))] over the evaluated t (v(0), v(1) at t = 0 and 1)."""
    t, v = np.asarray(t, dtype=float), np.asarray(values, dtype=float)
    i0, i1 = np.flatnonzero(np.isclose(t, 0.0)), np.flatnonzero(np.isclose(t, 1.0))
    if not len(i0) or not len(i1):
        raise ValueError("the barrier needs the path evaluated at t = 0 and t = 1")
    v0, v1 = v[i0[0]], v[i1[0]]
    inside = (t >= 0) & (t <= 1)
    return float(np.max(v[inside] - ((1 - t[inside]) * v0 + t[inside] * v1)))
