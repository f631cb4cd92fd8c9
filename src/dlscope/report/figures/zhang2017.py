"""Figures of Zhang et al. 2017 (random labels)."""
from __future__ import annotations

from . import subplots, LABELS

__all__ = ["zhang_figure1"]


def zhang_figure1(results: dict, chance: float):
    """Zhang et al. 2017, Fig. 1: (a) training loss vs steps per variant, (b) steps to fit vs
    label corruption p, (c) test error vs p."""
    fig, axes = subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for name, r in results.items():
        if name in LABELS:
            steps = [m["step"] for m in r["curve"]]
            ax.plot(steps, [m["batch_loss"] for m in r["curve"]], label=LABELS[name])
    ax.set(xlabel="SGD steps", ylabel="average training loss", yscale="log", title="(a) learning curves")
    ax.legend()
    pts = sorted((r["p"], r) for r in results.values() if r["kind"] in ("true_labels", "random_labels"))
    ps = [p for p, _ in pts]
    ax = axes[1]
    fit = [(p, r["steps_to_fit"]) for p, r in pts if r["steps_to_fit"] is not None]
    if fit:
        ax.plot(*zip(*fit), "o-")
    if fit and fit[0][0] == 0.0:
        ax2 = ax.twinx()
        ax2.set_ylim(*(lim / fit[0][1] for lim in ax.get_ylim()))
        ax2.set_ylabel("slowdown vs true labels (×)")
    ax.set(xlabel="label corruption p", ylabel="steps to fit", title="(b) convergence slowdown")
    ax = axes[2]
    ax.plot(ps, [r["test_error"] for _, r in pts], "o-", label="test error")
    ax.axhline(chance, color="gray", ls="--", label=f"chance {chance:.2f}")
    ax.set(xlabel="label corruption p", ylabel="test error", title="(c) generalization error growth", ylim=(0, 1))
    ax.legend()
    return fig
