"""Figures of ``dlscope measure`` (measurements of one net): margins, Hessian density, a 2-D
slice, per-layer bars and per-layer weight spectra. Each takes plain arrays and returns a Figure."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import NullFormatter

from . import density, subplots

__all__ = ["margin_density", "hessian_density", "slice_contours", "per_layer_bars", "weight_esd"]


def margin_density(margins, gamma: float):
    fig, ax = subplots(figsize=(6.4, 3.6))
    density(ax, margins, "C0", f"margins (n = {len(margins)})")
    ax.axvline(0.0, color="k", ls="--", lw=1)
    ax.axvline(gamma, color="C3", ls=":", lw=1.5, label=f"10th percentile γ = {gamma:.3g}")
    ax.set(xlabel="margin f(x)_y − max_{j≠y} f(x)_j", ylabel="density")
    ax.legend()
    return fig


def hessian_density(grid, dens):
    fig, ax = subplots(figsize=(6.4, 3.6))
    d = np.asarray(dens, dtype=float)
    floor = max(d.max() * 1e-8, 1e-300)
    ax.semilogy(grid, np.maximum(d, floor), color="C0")
    ax.axvline(0.0, color="k", ls="--", lw=1)
    ax.set(xlabel="eigenvalue λ of the Hessian", ylabel="density (log)", ylim=(floor, d.max() * 2))
    return fig


def slice_contours(alphas, betas, loss):
    fig, ax = subplots(figsize=(5.8, 4.8))
    z = np.log10(np.maximum(np.asarray(loss, dtype=float), 1e-12))
    cs = ax.contourf(alphas, betas, z.T, levels=30, cmap="viridis")
    ax.contour(alphas, betas, z.T, levels=10, colors="k", linewidths=0.4)
    ax.plot([0], [0], "r+", ms=12, mew=2)
    ax.set(xlabel="α (direction 1)", ylabel="β (direction 2)")
    fig.colorbar(cs, ax=ax, label="log10 loss")
    return fig


def per_layer_bars(rows: list[dict]):
    """Horizontal bars per layer: λ_max and trace of the Hessian block, ‖A‖_σ (log scale where positive)."""
    names = [r["layer"] for r in rows]
    panels = [("lambda_max", "λ_max of the Hessian block"), ("trace", "trace of the Hessian block"),
              ("op_norm", "operator norm ‖A‖_σ")]
    fig, axes = subplots(1, 3, figsize=(12, 0.35 * len(rows) + 1.6), sharey=True)
    y = np.arange(len(rows))
    for ax, (key, label) in zip(axes, panels):
        v = np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])
        ax.barh(y, np.where(np.isfinite(v), v, 0.0), color=np.where(v < 0, "C3", "C0"))
        if np.all(v[np.isfinite(v)] > 0) and np.isfinite(v).any():
            ax.set_xscale("log")
        ax.set(xlabel=label)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    return fig


def weight_esd(eigenvalues: dict, rows: list[dict], max_layers: int = 12):
    """Log-log histogram of each layer's eigenvalues with the fitted power law and the MP edge."""
    names = list(eigenvalues)[:max_layers]
    cols = min(4, max(1, len(names)))
    nrows = max(1, math.ceil(len(names) / cols))
    fig, axes = subplots(nrows, cols, figsize=(3.4 * cols, 2.9 * nrows), squeeze=False)
    info = {r["name"]: r for r in rows}
    for ax, name in zip(axes.ravel(), names):
        lam = np.asarray(eigenvalues[name], dtype=float)
        lam = lam[lam > lam.max() * 1e-12] if lam.size and lam.max() > 0 else lam
        r = info[name]
        if lam.size > 1:
            bins = np.logspace(np.log10(lam.min()), np.log10(lam.max()) + 1e-9, 30)
            h, edges = np.histogram(lam, bins=bins, density=True)
            ax.loglog(np.sqrt(edges[1:] * edges[:-1]), np.where(h > 0, h, np.nan), "o-", ms=2.5, lw=0.8, color="C0")
            if math.isfinite(r["alpha"]):
                x = np.logspace(np.log10(r["x_min"]), np.log10(lam.max()), 20)
                frac = r["n_tail"] / lam.size  # the tail's share of the density
                ax.loglog(x, frac * (r["alpha"] - 1) / r["x_min"] * (x / r["x_min"]) ** (-r["alpha"]), color="C3")
            ax.axvline(r["lambda_plus"], color="k", ls="--", lw=0.8)
        ax.set_title(f"{name} ({r['kind']}): α = {r['alpha']:.2f}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor log labels collide on short ranges
        ax.yaxis.set_minor_formatter(NullFormatter())
    for ax in axes.ravel()[len(names):]:
        ax.set_axis_off()
    return fig
