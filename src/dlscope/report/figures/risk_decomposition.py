"""Figure of the risk decomposition (the lecture's approximation / estimation / optimization error)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["decomposition_figure"]

_COLORS = {"approximation": "C0", "estimation": "C1", "optimization": "C2"}


def decomposition_figure(rows: list, widths, sizes, terms):
    """One panel per training-set size n: stacked bars of the mean of each term over seeds vs student
    width (negative terms stack below zero), and the directly measured excess risk with ± 2 se over seeds."""
    fig, axes = subplots(1, len(sizes), figsize=(5.2 * len(sizes), 4.3), squeeze=False)  # own scales: terms shrink with n
    x = np.arange(len(widths))
    for ax, n in zip(axes[0], sizes):
        pos, neg = np.zeros(len(widths)), np.zeros(len(widths))
        for t in terms:
            v = np.array([np.mean([r[t] for r in rows if r["width"] == w and r["n"] == n]) for w in widths])
            base = np.where(v >= 0, pos, neg)
            ax.bar(x, v, 0.6, bottom=base, color=_COLORS.get(t), label=f"{t} error")
            pos, neg = pos + np.maximum(v, 0), neg + np.minimum(v, 0)
        d = [[r["excess_direct"] for r in rows if r["width"] == w and r["n"] == n] for w in widths]
        m = np.array([np.mean(v) for v in d])
        se = np.array([np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0 for v in d])
        ax.errorbar(x, m, yerr=2 * se, fmt="ko", ms=4, capsize=3, label="excess risk R(ĥ) − R(g*), direct")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(x, [str(w) for w in widths])
        ax.set(xlabel="student hidden units", title=f"n = {n} training examples")
    for ax in axes[0]:
        ax.set_ylabel("excess cross-entropy (nats)")
    axes[0][0].legend(fontsize=8)
    return fig
