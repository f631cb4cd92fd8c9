"""Figures of the Blum–Rivest over-parameterization experiment."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["blum_rivest_figure"]


def blum_rivest_figure(success: dict, train_errors: dict, examined: list, intervals: dict):
    """(a) success fraction vs width with its intervals; (b) final training errors per width;
    (c) gradient coherence of the examined failing runs at init, end point and after minimization.

    ``success[h] = (successes, runs)``, ``train_errors[h]`` = list, ``intervals[h] = (lo, hi)``,
    ``examined`` = rows with coherence_init / coherence_end / coherence_critical.
    """
    fig, axes = subplots(1, 3, figsize=(16, 4.3))
    widths = list(success)
    ax = axes[0]
    frac = np.array([a / b for a, b in success.values()])
    lo = frac - np.array([intervals[h][0] for h in widths])
    hi = np.array([intervals[h][1] for h in widths]) - frac
    ax.errorbar(widths, frac, yerr=[lo, hi], fmt="o-", capsize=4, label="success fraction, Wilson 95 %")
    ax.axvline(widths[0], color="gray", ls=":", label=f"teacher width {widths[0]}")
    ax.set(xscale="log", xlabel="hidden ReLU units", ylabel="fraction of runs with zero training error",
           ylim=(0, 1.05), title="(a) SGD success vs width")
    ax.set_xticks(widths, [str(h) for h in widths])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    ax = axes[1]
    rng = np.random.default_rng(0)
    for i, h in enumerate(widths):
        e = np.asarray(train_errors[h])
        ax.plot(i + rng.uniform(-0.15, 0.15, len(e)), e, "o", ms=3, alpha=0.6, color="C0")
    ax.set_xticks(range(len(widths)), [str(h) for h in widths])
    ax.set(xlabel="hidden ReLU units", ylabel="final training error", title="(b) every run")
    ax = axes[2]
    keys = [("coherence_init", "initialization"), ("coherence_end", "SGD end point"),
            ("coherence_critical", "after ‖∇L‖² minimization")]
    for r in examined:
        ax.plot(range(3), [r[k] for k, _ in keys], "-o", color="C3", alpha=0.5, ms=3)
    if examined:
        ax.plot(range(3), [np.mean([r[k] for r in examined]) for k, _ in keys], "-o", color="k", lw=2,
                label=f"mean of {len(examined)} failing runs")
        ax.legend(fontsize=8)
    ax.set_xticks(range(3), [label for _, label in keys])
    ax.set(yscale="log", ylabel="‖mean gradient‖ / mean ‖per-example gradient‖",
           title=f"(c) failing runs at width {widths[0]}")
    return fig
