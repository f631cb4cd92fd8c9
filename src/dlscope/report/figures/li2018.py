"""Figures of Li et al. 2018 (landscape slices)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["landscape_figure", "ratio_map_figure"]


def landscape_figure(slices: dict):
    """Contours of log training loss on 2-D filter-normalized slices (Li et al. 2018, Fig. 5).
    ``slices`` maps a name to (alphas, betas, losses[i, j])."""
    fig, axes = subplots(1, len(slices), figsize=(5.8 * len(slices), 4.8), squeeze=False)
    zs = [np.log10(np.asarray(z)) for _, _, z in slices.values()]
    levels = np.linspace(min(z.min() for z in zs), max(z.max() for z in zs), 30)
    for ax, (name, (a, b, _)), z in zip(axes[0], slices.items(), zs):
        cs = ax.contourf(a, b, z.T, levels=levels, cmap="viridis")
        ax.contour(a, b, z.T, levels=levels[::3], colors="k", linewidths=0.4)
        ax.plot([0], [0], "r*", ms=10)
        ax.set(xlabel="α (direction 1)", ylabel="β (direction 2)", title=f"{name}: log10 training loss")
    fig.colorbar(cs, ax=axes[0].tolist(), label="log10 loss")
    return fig


def ratio_map_figure(maps: dict):
    """Heat maps of |λ_min/λ_max| of the Hessian over a slice (Li et al. 2018, Fig. 7, colour scale 0–0.5).
    ``maps`` maps a name to (alphas, betas, ratio[i, j])."""
    fig, axes = subplots(1, len(maps), figsize=(5.2 * len(maps), 4.4), squeeze=False)
    for ax, (name, (a, b, r)) in zip(axes[0], maps.items()):
        im = ax.pcolormesh(a, b, np.asarray(r, dtype=float).T, cmap="viridis", vmin=0.0, vmax=0.5, shading="nearest")
        ax.plot([0], [0], "r*", ms=10)
        ax.set(xlabel="α (direction 1)", ylabel="β (direction 2)", title=f"{name}: |λ_min/λ_max|")
    fig.colorbar(im, ax=axes[0].tolist(), label="|λ_min / λ_max| (clipped at 0.5)")
    return fig
