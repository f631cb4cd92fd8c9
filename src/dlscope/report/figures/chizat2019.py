"""Figures of Chizat, Oyallon & Bach 2019 (lazy against rich training, by the output scale α)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["laziness_figure", "accuracy_figure"]


def _means(rows, key):
    alphas = sorted({r["alpha"] for r in rows})
    vals = [[r[key] for r in rows if r["alpha"] == a and r.get(key) is not None] for a in alphas]
    mean = np.array([np.mean(v) for v in vals])
    se = np.array([np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0 for v in vals])
    return np.array(alphas), mean, se


def laziness_figure(rows: list, slope: dict, lazy: set):
    """Relative weight change and kernel distance against α, log-log, with the lazy-range fit."""
    fig, axes = subplots(1, 2, figsize=(11, 4.4))
    for ax, key, ylabel in ((axes[0], "weight_change", "‖w_T − w0‖ / ‖w0‖"),
                            (axes[1], "kernel_distance", "kernel distance (init → trained)")):
        ax.scatter([r["alpha"] for r in rows], [r[key] for r in rows], color="C0", s=18, alpha=0.7, label="one seed")
        ax.set(xscale="log", yscale="log", xlabel="output scale α", ylabel=ylabel)
    ka, km, _ = _means(rows, "kernel_distance")
    ok = km > 0
    axes[1].plot(ka[ok], km[ok], "C0-", lw=1, label="mean over seeds")
    a, m, _ = _means(rows, "weight_change")
    sel = np.isin(a, sorted(lazy))
    if sel.sum() >= 2 and np.isfinite(slope["slope"]):
        c = np.mean(np.log(m[sel])) - slope["slope"] * np.mean(np.log(a[sel]))
        axes[0].plot(a[sel], np.exp(c) * a[sel] ** slope["slope"], "C1", label=f"fit over lazy α: {slope['slope']:+.2f}")
        axes[0].plot(a, np.exp(c) * a ** -1.0, "k--", lw=1, label="∝ 1/α")
    axes[0].set_title("weights move ∝ 1/α in the lazy range")
    axes[1].set_title("the tangent kernel freezes as α grows")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def accuracy_figure(rows: list):
    """Test accuracy (mean ± se) against α; the linearized model at the largest α."""
    fig, ax = subplots(1, 1, figsize=(6.4, 4.4))
    a, m, se = _means(rows, "test_acc")
    ax.errorbar(a, m, yerr=se, marker="o", capsize=3, label="trained net")
    lin = [r for r in rows if r.get("lin_test_acc") is not None]
    if lin:
        ax.errorbar([lin[0]["alpha"]], [np.mean([r["lin_test_acc"] for r in lin])],
                    yerr=[np.std([r["lin_test_acc"] for r in lin], ddof=1) / np.sqrt(len(lin)) if len(lin) > 1 else 0],
                    marker="x", color="C3", ms=9, capsize=3, linestyle="none", label="linearized model")
    ax.set(xscale="log", xlabel="output scale α (small: rich, large: lazy)", ylabel="test accuracy",
           title="test accuracy at equal training accuracy")
    ax.legend(fontsize=8)
    return fig
