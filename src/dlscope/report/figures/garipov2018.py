"""Figures of Garipov et al. 2018 / Draxler et al. 2018 (mode connectivity)."""
from __future__ import annotations

from . import subplots

__all__ = ["paths_figure"]


def paths_figure(paths: dict):
    """Training loss and error along each path between two minima (Garipov et al. 2018, Fig. 1).
    ``paths`` maps a name to (t, losses, errors)."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    for name, (t, losses, errors) in paths.items():
        axes[0].plot(t, [float(v) for v in losses], label=name)
        if errors is not None:
            axes[1].plot(t, [float(v) for v in errors], label=name)
    axes[0].set(xlabel="t along the path", ylabel="training loss", yscale="log", title="loss along the path")
    axes[1].set(xlabel="t along the path", ylabel="training error", title="error along the path")
    for ax in axes:
        ax.legend()
    return fig
