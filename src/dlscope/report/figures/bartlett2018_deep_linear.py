"""Figures of Bartlett, Helmbold & Long 2018 (deep linear residual nets) and of the sigmoid critical points
of Bartlett, Evans & Long 2018."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from . import subplots

__all__ = ["deep_linear_figure"]

TARGET_COLORS = {"spd": "C0", "negative": "C3", "nonsymmetric (balanced)": "C2", "nonsymmetric": "C1"}


def deep_linear_figure(curves: dict, rows: list, points: list, floor: float, eps: float):
    """Loss curves (first seed), steps to ε against L, and the critical-point searches.

    ``curves``: (seed, target, L) → [(step, loss)]; ``rows``: one dict per run; ``points``: one dict per search.
    """
    fig, axes = subplots(1, 3, figsize=(17, 4.6))
    seed = min(k[0] for k in curves)
    depths = sorted({k[2] for k in curves})
    styles = dict(zip(depths, ("-", "--", "-.", ":", (0, (1, 1)), (0, (5, 1)))))
    for (s, target, L), pts in curves.items():
        if s != seed:
            continue
        steps, loss = zip(*pts)
        plain = target == "nonsymmetric"  # drawn thin and on top: it can coincide with the balanced run
        axes[0].plot(np.asarray(steps) + 1, np.maximum(loss, 1e-16), color=TARGET_COLORS[target], ls=styles.get(L, "-"),
                     lw=0.8 if plain else 2.0, zorder=3 if plain else 2, label=f"{target}" if L == depths[0] else None)
    axes[0].axhline(floor, color="C3", ls=":", lw=1, label="½λ² (negative target's floor)")
    axes[0].axhline(eps, color="k", ls="--", lw=1, label="ε")
    axes[0].set(xscale="log", yscale="log", xlabel="gradient-descent step + 1", ylabel="½‖Θ_L⋯Θ_1 − Φ‖²_F",
                title=f"from the identity (line style: L = {', '.join(map(str, depths))})")
    axes[0].legend(fontsize=7)
    for target in ("spd", "nonsymmetric (balanced)", "nonsymmetric"):
        for s in sorted({r["seed"] for r in rows}):
            sel = [r for r in rows if r["target"] == target and r["seed"] == s and r["steps"] is not None]
            if sel:
                plain = target == "nonsymmetric"
                axes[1].plot([r["L"] for r in sel], [max(1, r["steps"]) for r in sel], "x--" if plain else "o-",
                             color=TARGET_COLORS[target], ms=8 if plain else 6, lw=1 if plain else 2, zorder=3 if plain else 2,
                             label=target if s == rows[0]["seed"] else None)
    axes[1].set(xscale="log", yscale="log", xlabel="depth L", ylabel="steps to ε", title="steps to ε against depth")
    axes[1].set_xticks(depths, [str(L) for L in depths])
    axes[1].xaxis.set_minor_formatter(NullFormatter())
    axes[1].yaxis.set_major_formatter(FormatStrFormatter("%d"))
    axes[1].yaxis.set_minor_formatter(FormatStrFormatter("%d"))
    axes[1].legend(fontsize=7)
    ax = axes[2]
    for crit, marker in ((True, "o"), (False, "x")):
        sel = [p for p in points if p["critical"] == crit]
        if sel:
            ax.scatter([p["eps_upper"] for p in sel], [p["loss"] for p in sel], marker=marker,
                       c=["C3" if crit else "gray" for _ in sel], label="critical (‖∇θQ‖ small)" if crit else
                       "not critical")
    if points:
        ax.scatter([points[0]["teacher_eps_upper"]], [0.0], marker="*", s=150, c="k", zorder=3,
                   label="teacher: the global minimum (Q = 0)")
        ax.axhline(0.0, color="k", lw=0.6)
        ax.axvline(1.0, color="k", ls=":", lw=1, label="‖h_i − Id‖_L = 1")
    ax.set(xlabel="max_i ‖h_i − Id‖_L (upper bound) at the point", ylabel="Q at the point",
           title="sigmoid residual net: critical-point searches")
    ax.legend(fontsize=7)
    return fig
