"""Figures of Jastrzębski et al. 2017 (η/B)."""
from __future__ import annotations

from . import subplots

__all__ = ["temperature_figure"]


def temperature_figure(rows: list):
    """λ_max and test accuracy against the SGD temperature η/B (Jastrzębski et al. 2017, Fig. 2);
    markers by batch size, hollow where the run did not reach the target loss."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    batches = sorted({r["batch"] for r in rows})
    for i, b in enumerate(batches):
        rs = sorted((r for r in rows if r["batch"] == b), key=lambda r: r["lr_over_B"])
        for ax, key in zip(axes, ("lambda_max", "test_acc")):
            x = [r["lr_over_B"] for r in rs]
            ax.plot(x, [r[key] for r in rs], "-", color=f"C{i}", alpha=0.5)
            for r in rs:
                ax.plot(r["lr_over_B"], r[key], "o", color=f"C{i}", mfc=f"C{i}" if r["fitted"] else "none",
                        label=f"B={b}" if r is rs[0] else None)
    axes[0].set(xscale="log", yscale="log", xlabel="η / B", ylabel="λ_max of the Hessian", title="sharpness")
    axes[1].set(xscale="log", xlabel="η / B", ylabel="test accuracy", title="generalization")
    axes[0].legend()
    return fig
