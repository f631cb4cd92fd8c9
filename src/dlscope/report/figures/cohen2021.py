"""Figures of Cohen et al. 2021 (the edge of stability)."""
from __future__ import annotations

from . import subplots

__all__ = ["eos_figure"]


def eos_figure(curves: list, late_start: int):
    """Cohen et al. 2021, Fig. 1: training loss (top) and sharpness λ_max (bottom) of full-batch GD for
    each step size η, the threshold 2/η dashed; the late phase shaded."""
    fig, axes = subplots(2, 1, figsize=(8, 7.5), sharex=True)
    lrs = sorted({c["lr"] for c in curves}, reverse=True)
    for i, lr in enumerate(lrs):
        for j, c in enumerate(c for c in curves if c["lr"] == lr):
            label = f"η = {lr:g}" if j == 0 else None
            axes[0].plot(c["steps"], c["train_loss"], color=f"C{i}", lw=1, alpha=0.8, label=label)
            axes[1].plot(c["steps"], c["lambda_max"], "o-", ms=2.5, lw=1, color=f"C{i}", alpha=0.8, label=label)
        axes[1].axhline(2 / lr, color=f"C{i}", ls="--", lw=1)
    for ax in axes:
        ax.axvspan(late_start, max(max(c["steps"]) for c in curves), color="gray", alpha=0.12)
        ax.legend()
    axes[0].set(ylabel="training loss (squared)", yscale="log", title="full-batch gradient descent")
    axes[1].set(xlabel="step", ylabel="sharpness λ_max(∇²L)", title="sharpness rises to 2/η (dashed) and hovers there")
    return fig
