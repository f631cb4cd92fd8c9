"""Figures of Dauphin et al. 2014 (saddles)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["saddles_figure"]


def saddles_figure(trajectory: list, critical: list):
    """Index α against training loss ε (Dauphin et al. 2014, Fig. 1): the end points of the critical-point
    searches (squares: critical, ‖∇L‖ below the tolerance; crosses: searches that stopped above it),
    coloured by log10 ‖∇L‖/‖∇L(start)‖, and the points of the SGD trajectory."""
    fig, ax = subplots(figsize=(6.5, 4.5))
    ax.plot([t["train_loss"] for t in trajectory], [t["index"] for t in trajectory], "o-", color="C0", alpha=0.6,
            label="SGD trajectory")
    rel = np.log10(np.maximum([c["grad_norm"] / c["start_grad_norm"] for c in critical], 1e-16))
    ok = np.array([bool(c["critical"]) for c in critical], dtype=bool)
    loss, index = np.array([c["loss"] for c in critical]), np.array([c["index"] for c in critical])
    kw = dict(c=rel, cmap="viridis", vmin=min(-10.0, rel.min()), vmax=max(0.0, rel.max()), zorder=3)
    sc = ax.scatter(loss[ok], index[ok], marker="s", s=50, label="critical points", **{**kw, "c": rel[ok]})
    ax.scatter(loss[~ok], index[~ok], marker="x", s=50, label="searches that stopped short", **{**kw, "c": rel[~ok]})
    fig.colorbar(sc, ax=ax, label="log10 ‖∇L‖ / ‖∇L(start)‖")
    ax.set(xscale="log", xlabel="training loss ε", ylabel="index α (fraction of negative eigenvalues)",
           title="index vs loss")
    ax.legend()
    return fig
