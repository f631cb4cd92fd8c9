"""Figures of the reports: matplotlib ``Figure`` objects built without pyplot (STYLE #14, #17).

No plotting backend is selected or changed, at import or ever: figures are created with
``matplotlib.figure.Figure`` and written with :func:`save`, the only function here that writes.
One module per preset holds that preset's figures.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

__all__ = ["subplots", "save", "density", "LABELS", "COLORS"]

LABELS = {"true_labels": "true labels", "random_labels": "random labels", "shuffled_pixels": "shuffled pixels",
          "random_pixels": "random pixels", "gaussian": "Gaussian"}
COLORS = {"true_labels": "C0", "random_labels": "C3"}


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=(6.4, 4.8), layout: str = "constrained", **kw):
    """(figure, axes) like ``pyplot.subplots``, but a bare ``Figure`` that no backend knows about."""
    fig = Figure(figsize=figsize, layout=layout)
    axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (parent folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def density(ax, values, color: str | None, label: str) -> None:
    """A Gaussian-kernel density estimate of ``values``, drawn and shaded on ``ax``."""
    v = np.asarray(values, dtype=float)
    lo, hi = np.quantile(v, [0.001, 0.999])
    pad = 0.1 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 300)
    dens = stats.gaussian_kde(v)(grid) if np.ptp(v) > 0 else np.zeros_like(grid)
    ax.plot(grid, dens, color=color, label=label)
    ax.fill_between(grid, dens, color=color, alpha=0.2)
