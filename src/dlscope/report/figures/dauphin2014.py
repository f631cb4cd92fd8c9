"""Figures of Dauphin et al. 2014 (saddles)."""
from __future__ import annotations

from . import subplots

__all__ = ["saddles_figure"]


def saddles_figure(trajectory: list, critical: list):
    """Index α against training loss ε (Dauphin et al. 2014, Fig. 1): critical points found by
    minimizing ‖∇L‖² and the points of the SGD trajectory."""
    fig, ax = subplots(figsize=(6.5, 4.5))
    ax.plot([t["train_loss"] for t in trajectory], [t["index"] for t in trajectory], "o-", color="C0", alpha=0.6,
            label="SGD trajectory")
    sc = ax.scatter([c["loss"] for c in critical], [c["index"] for c in critical], c=[c["grad_norm"] for c in critical],
                    cmap="viridis", marker="s", s=50, label="critical points (min ‖∇L‖²)", zorder=3)
    fig.colorbar(sc, ax=ax, label="‖∇L‖ at the point")
    ax.set(xscale="log", xlabel="training loss ε", ylabel="index α (fraction of negative eigenvalues)",
           title="index vs loss")
    ax.legend()
    return fig
