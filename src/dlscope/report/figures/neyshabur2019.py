"""Figure of Neyshabur et al. 2019 (over-parametrization and capacity vs width)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["width_figure"]

LABELS = {"log_spectral_complexity_over_margin": "spectral complexity / margin (Bartlett 2017)",
          "log_prod_of_fro_over_margin": "∏ ‖W‖²(Frobenius) / margin² (Neyshabur 2015)",
          "unit_distance": "mean unit distance ‖uᵢ − uᵢ⁰‖",
          "frobenius_distance": "Σ ‖W − W⁰‖²(Frobenius)", "outgoing_norm": "mean outgoing norm ‖vᵢ‖"}


def _stats(rows, widths, col):
    v = [[r[col] for r in rows if r["width"] == h] for h in widths]
    return np.array([np.mean(a) for a in v]), np.array([np.std(a, ddof=1) if len(a) > 1 else 0.0 for a in v])


def width_figure(rows: list, widths, fitted, columns):
    """(a) train/test error vs width; (b) each measure relative to the narrowest fitted width (log
    measures as exp of the difference), mean ± sd over seeds; widths that did not fit are shaded."""
    fig, axes = subplots(1, 2, figsize=(13, 4.5))
    ax = axes[0]
    for col, c, ls in (("test_error", "C0", "-"), ("train_error", "C1", "--")):
        m, s = _stats(rows, widths, col)
        ax.plot(widths, m, ls, color=c, marker="o", ms=3, label=col.replace("_", " "))
        ax.fill_between(widths, m - s, m + s, color=c, alpha=0.2, lw=0)
    ax.set(xscale="log", xlabel="hidden units h", ylabel="classification error", title="(a) error vs width")
    if len(fitted) < len(widths):
        ax.fill_between([], [], color="gray", alpha=0.12, label="did not reach the target loss")
    ax.legend(fontsize=8)
    ax = axes[1]
    ref = widths.index(fitted[0]) if fitted else 0
    for i, col in enumerate(columns):
        m, s = _stats(rows, widths, col)
        if col.startswith("log_"):
            lo, mid, hi = np.exp(m - s - m[ref]), np.exp(m - m[ref]), np.exp(m + s - m[ref])
        else:
            lo, mid, hi = (m - s) / m[ref], m / m[ref], (m + s) / m[ref]
        ax.plot(widths, mid, marker="o", ms=3, color=f"C{i}", label=LABELS.get(col, col))
        ax.fill_between(widths, lo, hi, color=f"C{i}", alpha=0.15, lw=0)
    ax.set(xscale="log", yscale="log", xlabel="hidden units h", ylabel=f"relative to h = {widths[ref]}",
           title="(b) capacity measures vs width")
    ax.legend(fontsize=7)
    for ax in axes:
        unfit = [h for h in widths if h not in fitted]
        if unfit:
            ax.axvspan(min(unfit) / 1.4, max(unfit) * 1.4, color="gray", alpha=0.12, lw=0)
    return fig
