"""Figures of the one-layer-at-a-time experiment (Le Roux's comment on Bubeck 2015, seed 004)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["one_layer_figure"]


def one_layer_figure(curves: dict, start_loss: float, reductions: dict):
    """(left) training loss while continuing from the same net with one layer trained (or all);
    (right) the relative loss reduction of each, mean ± 2 se over seeds."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    for i, (name, (steps, loss)) in enumerate(curves.items()):
        ax.plot([0] + list(steps), [start_loss] + list(loss), color="k" if name == "whole net" else f"C{i}",
                ls="--" if name == "whole net" else "-", label=name)
    ax.set(xlabel="SGD steps after the common start", ylabel="training loss (seed 0)", yscale="log",
           title="continuing one layer at a time, the others frozen")
    ax.legend()
    ax = axes[1]
    names = list(reductions)
    means = [reductions[n]["mean"] for n in names]
    errs = [2 * (reductions[n]["se"] or 0.0) for n in names]
    ax.bar(np.arange(len(names)), means, yerr=errs, capsize=4,
           color=["k" if n == "whole net" else f"C{i}" for i, n in enumerate(names)])
    ax.set_xticks(np.arange(len(names)), names, rotation=20)
    ax.set(ylabel="relative reduction of the training loss", ylim=(0, 1.05), title="same budget for each")
    return fig
