"""What the depth presets share (issue 8): summaries of runs on synthetic problems and fitted rates.

:func:`synthetic_result` is :func:`~.recipe.preset_result` for presets that train on no dataset
(matrices, maps of ℝ² drawn from seeds): the summary says what was drawn instead of a data hash.
:func:`loglog_fit` is the rate every depth claim is stated in: the least-squares slope of log y on
log x with its standard error (scipy's ``linregress``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats

__all__ = ["synthetic_result", "loglog_fit", "log_m_over_m_slope"]


def synthetic_result(description: str, claims, table: list, figures, out: Path, **extra) -> dict:
    """The summary of a preset whose data are drawn, not loaded (``dataset`` says how; no data hash)."""
    return {"dataset": description, "data_hash": None, "claims": [c.to_json() for c in claims], "table": table,
            **extra, "figures": [str(Path(f).relative_to(out)) for f in figures]}


def loglog_fit(x, y) -> dict:
    """{"slope", "stderr", "intercept", "r2"} of log y = intercept + slope · log x (at least 3 points
    for a standard error; with 2 the stderr is None)."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(lx) < 2:
        raise ValueError("a rate needs at least two points")
    if len(lx) == 2:
        slope = float((ly[1] - ly[0]) / (lx[1] - lx[0]))
        return {"slope": slope, "stderr": None, "intercept": float(ly[0] - slope * lx[0]), "r2": 1.0}
    fit = stats.linregress(lx, ly)
    return {"slope": float(fit.slope), "stderr": float(fit.stderr), "intercept": float(fit.intercept),
            "r2": float(fit.rvalue ** 2)}


def log_m_over_m_slope(ms) -> float | None:
    """The slope the rate log m / m itself fits on the grid's m ≥ 2 (the reference a fitted rate is read
    against: what 'slower than 1/m' looks like); None with fewer than two such m."""
    ms = sorted({m for m in ms if m > 1})
    return round(loglog_fit(ms, [np.log(m) / m for m in ms])["slope"], 3) if len(ms) >= 2 else None
