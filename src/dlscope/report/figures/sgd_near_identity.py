"""Figures of the sgd-near-identity question (‖h_i − Id‖_L of SGD-trained residual blocks against depth)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from . import subplots

__all__ = ["gaps_figure"]

NORM_COLORS = {"none": "C0", "batch": "C3"}
NORM_LABELS = {"none": "no normalization", "batch": "BatchNorm"}


def gaps_figure(rows: list, per_block: dict):
    """max_i ‖h_i − Id‖_L against m (lower and upper, every seed) with 1/m and log m/m references; and the per-block
    profile of the deepest net (first seed). ``per_block``: (norm, depth, seed) → [(name, lower, upper)]."""
    fig, axes = subplots(1, 2, figsize=(13, 4.8))
    ax = axes[0]
    for norm in dict.fromkeys(r["norm"] for r in rows):
        sel = [r for r in rows if r["norm"] == norm]
        c = NORM_COLORS[norm]
        ms = sorted({r["blocks"] for r in sel})
        ax.scatter([r["blocks"] for r in sel], [r["max_lower"] for r in sel], color=c, marker="o",
                   label=f"{NORM_LABELS[norm]}: lower estimate")
        ax.scatter([r["blocks"] for r in sel], [r["max_upper"] for r in sel], facecolors="none", edgecolors=c,
                   marker="s", label=f"{NORM_LABELS[norm]}: upper bound")
        mean = [np.mean([r["max_lower"] for r in sel if r["blocks"] == m]) for m in ms]
        ax.plot(ms, mean, color=c, lw=1)
        m = np.array(ms, dtype=float)
        ax.plot(m, mean[0] * m[0] / m, color=c, ls=":", lw=1, label="C / m" if norm == rows[0]["norm"] else None)
        ax.plot(m, mean[0] * (m / np.log(m))[0] * np.log(m) / m, color=c, ls="-.", lw=1,
                label="C log m / m" if norm == rows[0]["norm"] else None)
    ms = sorted({r["blocks"] for r in rows})
    ax.set(xscale="log", yscale="log", xlabel="residual blocks m", ylabel="max_i ‖h_i − Id‖_L after SGD",
           title="do SGD-trained blocks approach the identity?")
    ax.set_xticks(ms, [str(m) for m in ms])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=7)
    ax = axes[1]
    depth = max(k[1] for k in per_block)
    for (norm, d, seed), blocks in per_block.items():
        if d != depth or seed != min(k[2] for k in per_block):
            continue
        pos = (np.arange(len(blocks)) + 0.5) / len(blocks)
        ax.plot(pos, [b[1] for b in blocks], "o-", color=NORM_COLORS[norm], label=f"{NORM_LABELS[norm]}: lower")
        ax.plot(pos, [b[2] for b in blocks], "s--", mfc="none", color=NORM_COLORS[norm],
                label=f"{NORM_LABELS[norm]}: upper")
    ax.set(yscale="log", xlabel="position of the block in the net (0 = input side)", ylabel="‖h_i − Id‖_L",
           title=f"per block, depth {depth}")
    ax.legend(fontsize=7)
    for a in axes:  # values within a decade or two: plain numbers on the log axes
        a.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
        a.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
    return fig
