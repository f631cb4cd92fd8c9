"""Figures of Chaudhari & Soatto 2018 (the shape of SGD's noise)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from . import subplots

__all__ = ["noise_figure"]


def noise_figure(spectra: list, grid: list, msd: list, num_params: int):
    """(a) the fraction of tr Σ_B in its top r eigenvalues at several points of training; (b) the measured noise scale η·tr Σ_B
    against η/B with a slope-1 guide; (c) the late-phase mean-squared displacement against the lag
    with a slope-1 (Brownian) guide."""
    fig, axes = subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    for i, s in enumerate(spectra):
        lam = np.asarray(s["spectrum"], float)
        ax.plot(np.arange(1, len(lam) + 1), np.cumsum(lam) / s["trace"], color=f"C{i}",
                label=f"step {s['step']}: r_eff = {s['effective_rank']:.1f}")
    ax.axvline(num_params, color="gray", ls=":", label=f"p = {num_params}")
    ax.axhline(0.9, color="gray", lw=0.8)
    ax.set(xscale="log", xlabel="r (top eigenvalues of Σ_B)", ylabel="fraction of tr Σ_B", ylim=(0, 1.02),
           title="(a) a few directions carry the noise")
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, seed in enumerate(sorted({g["seed"] for g in grid})):
        pts = sorted((g["lr_over_b"], g["noise_scale"]) for g in grid if g["seed"] == seed)
        ax.plot(*zip(*pts), "o", color=f"C{i}", label=f"seed {seed}")
    x = np.array(sorted({g["lr_over_b"] for g in grid}))
    y0 = np.exp(np.mean([np.log(g["noise_scale"] / g["lr_over_b"]) for g in grid]))
    ax.plot(x, y0 * x, "k--", lw=1, label="∝ η/B")
    ax.set(xscale="log", yscale="log", xlabel="η / B", ylabel="η · tr Σ_B (sampled mini-batches)",
           title="(b) the noise scale tracks η/B")
    ax.legend()
    ax = axes[2]
    for i, m in enumerate(msd):
        ax.plot(m["lags"], m["msd"], "o-", ms=3, color=f"C{i}", label=f"seed {m['seed']}: α = {m['alpha']:.2f}")
        ax.plot(m["lags"], m["msd"][0] * np.asarray(m["lags"], float) / m["lags"][0], ":", color=f"C{i}")
    ax.set(xscale="log", yscale="log", xlabel="lag τ (steps)", ylabel="⟨‖θ(t+τ) − θ(t)‖²⟩ (late phase)",
           title="(c) displacement vs Brownian (dotted, slope 1)")
    ax.legend()
    lags = msd[0]["lags"] if msd else []
    for ax, ticks in ((axes[1], x), (axes[2], lags[:: max(1, len(lags) // 5)])):
        ax.set_xticks(list(ticks), [f"{t:.2g}" for t in ticks], rotation=45)
        ax.xaxis.set_minor_formatter(NullFormatter())
    return fig
