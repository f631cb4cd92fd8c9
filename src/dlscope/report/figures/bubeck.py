"""Figures of the classic recipe and its ablations (Bubeck 2015, seed 004)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["recipe_figure"]


def recipe_figure(rows: list, curves: dict):
    """(left) final test accuracy of the recipe and of each ablation, seeds as dots; (right) test accuracy
    and learning rate along training for the recipe and its constant-rate twin (first seed)."""
    fig, axes = subplots(1, 2, figsize=(13, 4.4))
    ax = axes[0]
    names = list(dict.fromkeys(r["variant"] for r in rows))
    for i, name in enumerate(names):
        acc = [r["test_acc"] for r in rows if r["variant"] == name]
        ax.bar(i, np.mean(acc), color="C0" if name == "recipe" else "C7", alpha=0.8)
        ax.plot([i] * len(acc), acc, "k.")
    lo = min(r["test_acc"] for r in rows)
    ax.set_xticks(np.arange(len(names)), names, rotation=25)
    ax.set(ylabel="final test accuracy", ylim=(max(0.0, lo - 0.05), min(1.0, max(r["test_acc"] for r in rows) + 0.03)),
           title="the recipe and the recipe without one ingredient")
    ax = axes[1]
    ax2 = ax.twinx()
    for i, (name, c) in enumerate(curves.items()):
        ax.plot(c["epoch"], c["test_acc"], color=f"C{i}", label=f"{name}: test accuracy")
        ax2.plot(c["epoch"], c["lr"], color=f"C{i}", ls=":", label=f"{name}: learning rate")
    ax.set(xlabel="epoch", ylabel="test accuracy", title="÷10 on a training-loss plateau vs a constant rate")
    ax2.set(ylabel="learning rate", yscale="log")
    ax.legend(loc="lower left", fontsize=8)
    ax2.legend(loc="lower right", fontsize=8)
    return fig
