"""Figures of Hardt & Ma 2017 (near-identity factorizations; gradient descent on linear residual nets)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from . import subplots

__all__ = ["factorization_figure", "gd_figure"]

def _m_ticks(ax, ms) -> None:
    """Integer ticks at the m of the grid on a log axis (no overlapping minor labels)."""
    ms = sorted({int(m) for m in ms})
    step = max(1, len(ms) // 9)
    ax.set_xticks(ms[::step], [str(m) for m in ms[::step]])
    ax.xaxis.set_minor_formatter(NullFormatter())


KIND_COLORS = {"gaussian": "C0", "rotation": "C3"}


def factorization_figure(ms: list, curves: dict):
    """max‖A_i‖ and m·max‖A_i‖ against m. ``curves``: (seed, target) → (kind, [max‖A_i‖ per m])."""
    fig, axes = subplots(1, 2, figsize=(12, 4.4))
    ms = np.asarray(ms, dtype=float)
    seen = set()
    for (seed, name), (kind, norms) in curves.items():
        label = kind if kind not in seen else None
        seen.add(kind)
        norms = np.asarray(norms)
        axes[0].plot(ms, norms, "o-", ms=3, lw=1, alpha=0.6, color=KIND_COLORS[kind], label=label)
        axes[1].plot(ms, ms * norms, "o-", ms=3, lw=1, alpha=0.6, color=KIND_COLORS[kind], label=label)
    top = max(max(n) for _, n in curves.values())
    axes[0].plot(ms, top * ms[0] / ms, "k:", lw=1.2, label="c / m")
    axes[0].set(xscale="log", yscale="log", xlabel="number of factors m", ylabel="max_i ‖A_i‖₂",
                title="near-identity factors of A = (I + A_m)⋯(I + A_1)")
    axes[1].axhline(np.pi, color="gray", ls="--", lw=1, label="π")
    axes[1].set(xscale="log", xlabel="number of factors m", ylabel="m · max_i ‖A_i‖₂", title="m · max‖A_i‖ stays bounded")
    for ax in axes:
        ax.legend(fontsize=8)
        _m_ticks(ax, ms)
    return fig


def gd_figure(trajectories: dict, rows: list, rel_tol: float):
    """Relative excess risk and max‖A_i‖ along gradient descent. ``trajectories``: (seed, target) →
    [(step, relative excess, max‖A_i‖)]; ``rows``: one dict per run; ``rel_tol``: the optimum's threshold."""
    fig, axes = subplots(1, 2, figsize=(12, 4.4))
    for (seed, t), traj in trajectories.items():
        steps, rel, dev = (np.asarray(v, dtype=float) for v in zip(*traj))
        inside = bool(dev.max() < 1)
        color = "C0" if inside else "C3"
        axes[0].plot(steps, np.maximum(rel, 1e-16), color=color, lw=0.9, alpha=0.6)
        axes[1].plot(steps, dev, color=color, lw=0.9, alpha=0.6)
    axes[0].plot([], [], color="C0", label="stayed in max‖A_i‖ < 1")
    axes[0].plot([], [], color="C3", label="left the region")
    axes[0].axhline(rel_tol, color="k", ls="--", lw=1, label=f"optimum reached ({rel_tol:g})")
    axes[0].set(yscale="log", xlabel="gradient-descent step", ylabel="(f − f*) / (f(0) − f*)",
                title=f"{len(rows)} targets: excess risk")
    axes[1].axhline(1.0, color="k", ls=":", lw=1, label="max‖A_i‖ = 1")
    axes[1].set(xlabel="gradient-descent step", ylabel="max_i ‖A_i‖₂", title="distance of the layers from I")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig
