"""Figures of Jacot et al. 2018 / Lee et al. 2019 (the NTK against width)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["width_figure", "predictions_figure"]

_PANELS = (("ntk_rel_error", "(a) NTK at init vs closed form", "relative error ‖Θ − Θ∞‖/‖Θ∞‖"),
           ("kernel_distance", "(b) NTK moves in training", "kernel distance S(Θ at init, Θ trained)"),
           ("net_vs_linearized", "(c) net vs linearization / kernel", "relative deviation of test predictions"))


def _line(ax, rows, depth, key, color, label, marker, slope):
    pts = [(r["width"], r[key]) for r in rows if r["depth"] == depth and r[key] > 0]
    if not pts:
        return
    w, v = np.array(pts, dtype=float).T
    ax.scatter(w, v, color=color, marker=marker, s=18, alpha=0.7)
    ws = np.unique(w)
    mean = np.exp([np.mean(np.log(v[w == x])) for x in ws])
    if slope is not None and len(ws) > 1:
        c = np.mean(np.log(mean)) - slope * np.mean(np.log(ws))
        ax.plot(ws, np.exp(c) * ws ** slope, color=color, label=f"{label}: slope {slope:+.2f}")


def width_figure(rows: list, stats: dict):
    """Three log-log panels against width: NTK error at init, kernel distance, prediction deviations."""
    fig, axes = subplots(1, 3, figsize=(15, 4.4))
    depths = sorted(stats)
    for d, depth in enumerate(depths):
        name = f"{depth + 1}-layer"
        for ax, (key, title, ylabel) in zip(axes, _PANELS):
            _line(ax, rows, depth, key, f"C{d}", name, "o", stats[depth][key]["slope"])
            ax.set(title=title, ylabel=ylabel)
        _line(axes[2], rows, depth, "net_vs_kernel", f"C{d}", f"{name} vs kernel", "x",
              stats[depth]["net_vs_kernel"]["slope"])
    ws = np.array(sorted({r["width"] for r in rows}), dtype=float)
    first = [r["ntk_rel_error"] for r in rows if r["width"] == ws[0]]
    if first:
        axes[0].plot(ws, np.mean(first) * (ws / ws[0]) ** -0.5, "k--", lw=1, label="∝ width^(−1/2)")
    for ax in axes:
        ax.set(xscale="log", yscale="log", xlabel="width m")
        ax.legend(fontsize=8)
    axes[2].set_title("(c) net vs linearization (o) and kernel regression (x)")
    return fig


def predictions_figure(preds: dict):
    """Scatter of the net's test outputs against kernel regression, smallest and widest width per depth."""
    depths = sorted({d for d, _ in preds})
    fig, axes = subplots(1, len(depths), figsize=(5.2 * len(depths), 4.6), squeeze=False)
    for ax, depth in zip(axes[0], depths):
        widths = sorted(w for d, w in preds if d == depth)
        for i, w in enumerate(sorted({widths[0], widths[-1]})):
            net, ker = (np.asarray(t, dtype=float) for t in preds[(depth, w)])
            ax.scatter(ker, net, s=8, alpha=0.6, color=f"C{i}", label=f"width {w}")
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(title=f"{depth + 1}-layer net", xlabel="kernel regression (Θ∞) f₁ − f₀",
               ylabel="trained net f₁ − f₀")
        ax.legend(fontsize=8)
    return fig
