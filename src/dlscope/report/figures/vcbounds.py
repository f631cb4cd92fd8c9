"""Figures of the vc-bounds preset."""
from __future__ import annotations

import numpy as np

from . import subplots, LABELS, COLORS

__all__ = ["vc_bounds_figure"]


def vc_bounds_figure(rows: list, bound_keys: list, n: int, growth: dict):
    """Upper bounds on the VC dimension of each net next to the training-set size n (left, log
    scale); the *order of growth* of BHLM's lower bound on a separate axis (middle: g(p′)/g(p),
    g = pL log₂(p/L), the unknown constant cancels — never drawn as a value beside the bounds);
    the test errors of the same architecture on true vs random labels (right).
    ``growth``: architecture → {"p": [p′...], "ratio": [g(p′)/g(p)...]}."""
    fig, axes = subplots(1, 3, figsize=(16, 4.2), gridspec_kw={"width_ratios": [2, 1.1, 1]})
    archs = list(dict.fromkeys(r["architecture"] for r in rows))
    ax = axes[0]
    x = np.arange(len(archs))
    w = 0.8 / len(bound_keys)
    for j, k in enumerate(bound_keys):
        vals = [next(r[k] for r in rows if r["architecture"] == a) for a in archs]
        ax.bar(x + (j - (len(bound_keys) - 1) / 2) * w, vals, width=w, label=k.replace("_", " "), color=f"C{j}")
    ax.axhline(n, color="k", ls="--", label=f"n = {n} training examples")
    sizes = {a: next(r for r in rows if r["architecture"] == a) for a in archs}
    ax.set_xticks(x, [f"{a}\np={sizes[a]['p']:,}  L={sizes[a]['L']}  k={sizes[a]['k']:,}" for a in archs])
    top = max(r[k] for r in rows for k in bound_keys)
    ax.set(yscale="log", ylabel="upper bound on VCdim",
           title="VC-dimension upper bounds vs n (above the line: vacuous)",
           ylim=(n / 3, top * 1e7))
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax = axes[1]
    for j, a in enumerate(archs):
        g = growth[a]
        if g["ratio"] is None:  # p ≤ L: the order p L log(p/L) is not positive
            continue
        ax.plot(g["p"], g["ratio"], "o-", ms=3, color=f"C{j}", label=f"{a} (L={sizes[a]['L']})")
        ax.plot([sizes[a]["p"]], [1.0], "k*", ms=8)
    ax.set(xscale="log", yscale="log", xlabel="parameters p′", ylabel="g(p′) / g(p)",
           title="lower bound Ω(pL log(p/L)): order only\n(relative to each net ★; constant unknown)")
    ax.legend(fontsize=7)
    ax = axes[2]
    for j, kind in enumerate(("true_labels", "random_labels")):
        vals = [np.mean([r["test_error"] for r in rows if r["architecture"] == a and r["labels"] == kind])
                for a in archs]
        ax.bar(x + (j - 0.5) * 0.38, vals, width=0.36, color=COLORS[kind], label=LABELS[kind])
    ax.set_xticks(x, archs)
    ax.set(ylim=(0, 1.15), ylabel="test error", title="same architecture, same VC bound")
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    return fig
