"""Figures of the vc-bounds preset."""
from __future__ import annotations

import numpy as np

from . import subplots, LABELS, COLORS

__all__ = ["vc_bounds_figure"]


def vc_bounds_figure(rows: list, bound_keys: list, n: int):
    """VC-dimension bounds of each net next to the training-set size n (left, log scale) and the
    test errors of the same architecture on true vs random labels (right)."""
    fig, axes = subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    archs = list(dict.fromkeys(r["architecture"] for r in rows))
    ax = axes[0]
    x = np.arange(len(archs))
    w = 0.8 / len(bound_keys)
    for j, k in enumerate(bound_keys):
        vals = [next(r[k] for r in rows if r["architecture"] == a) for a in archs]
        label = k.replace("_", " ").replace("order", "order (constant 1)")
        ax.bar(x + (j - (len(bound_keys) - 1) / 2) * w, vals, width=w, label=label, color=f"C{j}")
    ax.axhline(n, color="k", ls="--", label=f"n = {n} training examples")
    sizes = {a: next(r for r in rows if r["architecture"] == a) for a in archs}
    ax.set_xticks(x, [f"{a}\np={sizes[a]['p']:,}  L={sizes[a]['L']}  k={sizes[a]['k']:,}" for a in archs])
    top = max(r[k] for r in rows for k in bound_keys)
    ax.set(yscale="log", ylabel="VC-dimension bound", title="VC-dimension bounds vs n (above the line: vacuous)",
           ylim=(n / 3, top * 1e7))
    ax.legend(fontsize=7, loc="upper left", ncol=3)
    ax = axes[1]
    for j, kind in enumerate(("true_labels", "random_labels")):
        vals = [np.mean([r["test_error"] for r in rows if r["architecture"] == a and r["labels"] == kind])
                for a in archs]
        ax.bar(x + (j - 0.5) * 0.38, vals, width=0.36, color=COLORS[kind], label=LABELS[kind])
    ax.set_xticks(x, archs)
    ax.set(ylim=(0, 1.15), ylabel="test error", title="same architecture, same VC bound")
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    return fig
