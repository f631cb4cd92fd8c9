"""Figures of Kleinberg, Li & Yuan 2018 (SGD on a smoothed loss)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from . import subplots

__all__ = ["trajectory_figure", "toy_figure"]


def trajectory_figure(points: list, first_epoch_step: int):
    """cos(−∇L(θ_t), θ_T − θ_t) and the directional curvature κ_t along each seed's SGD trajectory."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    for i, seed in enumerate(sorted({p["seed"] for p in points})):
        pts = [p for p in points if p["seed"] == seed]
        axes[0].plot([p["step"] for p in pts], [p["cos"] for p in pts], "o-", ms=3, color=f"C{i}", label=f"seed {seed}")
        axes[1].plot([p["step"] for p in pts], [p["kappa"] for p in pts], "o-", ms=3, color=f"C{i}", label=f"seed {seed}")
    for ax in axes:
        ax.axhline(0, color="gray", lw=0.8)
        ax.axvline(first_epoch_step, color="gray", ls=":", label="end of epoch 1")
        ax.legend()
    axes[0].set(xlabel="SGD step t", ylabel="cos(−∇L(θ_t), θ_T − θ_t)", title="one-point convexity towards θ_T")
    axes[1].set(xlabel="SGD step t", ylabel="κ_t = dᵀH(θ_t)d / ‖d‖²,  d = θ_T − θ_t",
                title="curvature along the direction to θ_T")
    return fig


def toy_figure(toy, radii: dict, rows: list, gd_end: float):
    """(left) the 1-D loss and its Gaussian smoothings at SGD's noise radii; (right) escape fraction vs η/B."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    x = np.linspace(-1.0, toy.m + 2.0, 600)
    ax = axes[0]
    ax.plot(x, toy.f(x), "k", lw=2, label="f (r = 0)")
    for i, (label, r) in enumerate(radii.items()):
        ax.plot(x, toy.f(x, r), color=f"C{i}", label=f"E f(x + r z), r = {r:.3g} ({label})")
    ax.axvline(toy.barrier, color="gray", ls=":", label="barrier")
    ax.plot([gd_end], [toy.f(np.array([gd_end]))[0]], "kv", ms=9, label="gradient descent ends")
    ax.set(xlabel="x", ylabel="loss", title="sharp and wide minima, and their smoothings")
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, lr in enumerate(sorted({r["lr"] for r in rows})):
        pts = sorted((r["lr_over_b"], r["mean"], r["se"] or 0.0) for r in rows if r["lr"] == lr)
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[2 * p[2] for p in pts], fmt="o-", color=f"C{i}",
                    capsize=3, label=f"η = {lr:g}")
    ax.set(xscale="log", xlabel="η / B (temperature × 2/σ²)", ylabel="fraction escaped (± 2 se over seeds)",
           ylim=(-0.05, 1.05), title="SGD leaves the sharp minimum as η/B grows (fixed time η·T)")
    ticks = sorted({r["lr_over_b"] for r in rows})
    ax.set_xticks(ticks, [f"{t:.2g}" for t in ticks], rotation=45)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend()
    return fig
