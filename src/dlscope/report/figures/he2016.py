"""Figures of He et al. 2016 (the degradation problem: plain vs residual nets of increasing depth)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["degradation_figure"]


def degradation_figure(rows: list, curves: dict):
    """Training-error curves (mean over seeds) and final errors against depth, one column per norm.

    ``rows``: one dict per run (norm, depth, net, seed, train_error, test_error); ``curves``:
    (norm, net, depth, seed) → [(step, training error)].
    """
    norms = list(dict.fromkeys(r["norm"] for r in rows))
    depths = sorted({r["depth"] for r in rows})
    fig, axes = subplots(2, len(norms), figsize=(6.5 * len(norms), 8.4), squeeze=False)
    colors = {d: f"C{i}" for i, d in enumerate(depths)}
    for j, norm in enumerate(norms):
        ax = axes[0][j]
        for depth in depths:
            for net, lw, ls in (("plain", 1.0, "--"), ("residual", 2.2, "-")):
                runs = [c for (n, k, d, _), c in curves.items() if n == norm and k == net and d == depth]
                if not runs:
                    continue
                steps = [s for s, _ in runs[0]]
                err = np.mean([[e for _, e in c[:len(steps)]] for c in runs], axis=0)
                ax.plot(steps, 100 * err, color=colors[depth], lw=lw, ls=ls, label=f"{net}-{depth}")
        title = "with BatchNorm" if norm == "batch" else "without normalization"
        ax.set(xlabel="SGD step", ylabel="training error (%)", title=f"{title}: training error (dashed: plain)")
        ax.legend(fontsize=7, ncol=2)
        ax = axes[1][j]
        for net, color in (("plain", "C3"), ("residual", "C0")):
            for key, ls, marker in (("train_error", "-", "o"), ("test_error", ":", "s")):
                vals = [[r[key] for r in rows if r["norm"] == norm and r["net"] == net and r["depth"] == d]
                        for d in depths]
                ax.errorbar(depths, [100 * np.mean(v) for v in vals], yerr=[100 * np.std(v, ddof=1) if len(v) > 1 else 0
                                                                            for v in vals],
                            color=color, ls=ls, marker=marker, capsize=3, label=f"{net}, {key.replace('_', ' ')}")
        ax.set(xlabel="depth (6n+2 layers)", ylabel="error at the end of the budget (%)", xticks=depths,
               title=f"{title}: final errors (mean ± sd over seeds)")
        ax.legend(fontsize=7)
    return fig
