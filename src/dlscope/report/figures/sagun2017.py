"""Figures of Sagun et al. 2017 (bulk and outliers of the Hessian spectrum)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["spectrum_figure"]


def spectrum_figure(eigs: np.ndarray, ggn_eigs: np.ndarray, count: int, shares: list, classes: int):
    """(left) histogram of the exact Hessian spectrum (log counts); (right) its top 3C eigenvalues with
    the GGN's, the bulk edge (largest gap) dashed and C marked."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    ax.hist(eigs, bins=120, color="C0", log=True)
    if count:
        ax.axvline(0.5 * (eigs[count - 1] + eigs[count]) if count < len(eigs) else eigs[-1], color="k", ls="--",
                   label=f"bulk edge (largest gap): {count} above")
        ax.legend()
    ax.set(xlabel="eigenvalue of ∇²L", ylabel="count", title="exact Hessian spectrum (float64)")
    ax = axes[1]
    k = min(3 * classes, len(eigs))
    idx = np.arange(1, k + 1)
    ax.plot(idx, eigs[:k], "o-", color="C0", label="Hessian H")
    ax.plot(idx, ggn_eigs[:k], "x", color="C3", label="Gauss–Newton G")
    ax.axvline(count + 0.5, color="k", ls="--", label="largest gap")
    ax.axvline(classes + 0.5, color="gray", ls=":", label=f"C = {classes}")
    ax.set(yscale="log", xlabel="rank", ylabel="eigenvalue",
           title=f"top {k}; mean uᵀGu/λ over the top C: {np.mean(shares):.3f}")
    ax.legend()
    return fig
