"""Figures of Jiang et al. 2020 (measure ranking)."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.patches import Rectangle

from . import subplots

__all__ = ["measure_ranking"]


_FAMILY_COLOR = {"flatness": "C2", "spectral": "C3", "params": "C7", "norm": "C0", "margin": "C1",
                 "sharpness": "C4", "path": "C5"}


def measure_ranking(rows: list, axes_names: list):
    """Jiang et al. 2020, Table 1 as bars: τ, Ψ (with each ψ_axis as dots) and the CMI score K
    per measure, sorted by Ψ. ``rows``: one dict per measure with ``measure``, ``family``,
    ``tau``, ``Psi``, ``psi_<axis>``, ``cmi``."""
    rows = sorted(rows, key=lambda r: -np.inf if math.isnan(r["Psi"]) else r["Psi"])
    names = [r["measure"] for r in rows]
    colors = [_FAMILY_COLOR.get(r["family"], "C9") for r in rows]
    y = np.arange(len(rows))
    fig, axes = subplots(1, 3, figsize=(15, 0.28 * len(rows) + 1.8), sharey=True)
    axes[0].barh(y, [r["tau"] for r in rows], color=colors)
    axes[0].set(title="Kendall τ (all models)", xlim=(-1, 1))
    axes[1].barh(y, [r["Psi"] for r in rows], color=colors)
    for k, ax_name in enumerate(axes_names):
        axes[1].plot([r.get(f"psi_{ax_name}", np.nan) for r in rows], y, "o", ms=3, color=f"C{k}",
                     mfc="none", label=f"ψ {ax_name}")
    axes[1].set(title="granulated Ψ (dots: ψ per hyperparameter)", xlim=(-1, 1))
    axes[1].legend(fontsize=7, loc="lower right")
    bars = axes[2].barh(y, [r["cmi"] for r in rows], color=colors)
    for bar, r in zip(bars, rows):  # K does not see the direction: mark measures that rank the wrong way
        if r["tau"] < 0:
            bar.set(hatch="///", alpha=0.5)
    axes[2].set(title="conditional mutual information K  (hatched: τ < 0)", xlim=(0, None))
    axes[0].set_yticks(y, names, fontsize=8)
    for ax in axes[:2]:
        ax.axvline(0, color="k", lw=0.8)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in _FAMILY_COLOR.values()]
    fig.legend(handles, list(_FAMILY_COLOR), loc="upper center", ncol=len(_FAMILY_COLOR), fontsize=8,
               bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig
