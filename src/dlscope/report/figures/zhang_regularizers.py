"""Figures of Zhang et al. 2017, Table 1 (explicit regularizers) and of the dropout sweep."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import subplots

__all__ = ["table1_figure", "dropout_figure"]


def _column(r) -> str:
    if r["labels"] == "random":
        extra = "+wd" if r["weight_decay"] else (f"+drop{r['dropout']:g}" if r["dropout"] else "")
        return "random" + extra
    return {(True, True): "crop+wd", (True, False): "crop", (False, True): "wd", (False, False): "none"}[
        (r["crop"], r["weight_decay"])]


def table1_figure(rows: list, archs, chance: float):
    """Grouped bars: per net, the test accuracy of each (crop, weight decay) column and of random labels
    (mean ± sd over seeds), train accuracy as dots, the paper's test accuracy as crosses when present."""
    fig, ax = subplots(1, 1, figsize=(14, 4.8))
    order = ["crop+wd", "crop", "wd", "none", "random", "random+wd"]
    x0 = 0
    ticks, labels = [], []
    for a in archs:
        sel = [r for r in rows if r["arch"] == a and r["dropout"] == 0]
        cols = [c for c in order if any(_column(r) == c for r in sel)]
        for i, c in enumerate(cols):
            rs = [r for r in sel if _column(r) == c]
            te, tr = [r["test_acc"] for r in rs], [r["train_acc"] for r in rs]
            color = "C3" if c.startswith("random") else "C0"
            ax.bar(x0 + i, np.mean(te), 0.8, yerr=np.std(te, ddof=1) if len(te) > 1 else 0, color=color,
                   alpha=0.8, capsize=2)
            ax.plot([x0 + i] * len(tr), tr, "k.", ms=4)
            paper = [r["paper_test_acc"] for r in rs if r.get("paper_test_acc") is not None]
            if paper:
                ax.plot(x0 + i, paper[0], "kx", ms=7)
            ticks.append(x0 + i)
            labels.append(c)
        ax.text(x0 + (len(cols) - 1) / 2, 1.04, a, ha="center", fontsize=9, weight="bold")
        x0 += len(cols) + 1
    ax.axhline(chance, color="gray", ls="--", lw=1)
    ax.set_xticks(ticks, labels, rotation=30, fontsize=8)
    ax.set(ylim=(0, 1.1), ylabel="accuracy (bars: test, dots: train)")
    ax.legend(handles=[Patch(color="C0", alpha=0.8, label="true labels: test accuracy (mean ± sd)"),
                       Patch(color="C3", alpha=0.8, label="random labels: test accuracy"),
                       Line2D([], [], ls="", marker=".", color="k", label="train accuracy (each seed)"),
                       Line2D([], [], ls="", marker="x", color="k", label="the paper's test accuracy (CIFAR-10)"),
                       Line2D([], [], ls="--", color="gray", label="chance")],
              fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=5)
    return fig


def dropout_figure(rows: list, arch: str, rates):
    """Train/test accuracy and the generalization gap vs dropout rate (true labels), and the train accuracy
    reached on random labels with dropout."""
    fig, axes = subplots(1, 2, figsize=(12, 4.3))
    true = [r for r in rows if r["arch"] == arch and r["labels"] == "true" and not r["crop"] and not r["weight_decay"]]
    ax = axes[0]
    for key, c, label in (("train_acc", "C1", "train accuracy"), ("test_acc", "C0", "test accuracy"),
                          ("gap", "C3", "generalization gap (train − test)")):
        m = [np.mean([r[key] for r in true if r["dropout"] == p]) for p in rates]
        s = [np.std([r[key] for r in true if r["dropout"] == p], ddof=1) if sum(r["dropout"] == p for r in true) > 1
             else 0 for p in rates]
        ax.errorbar(rates, m, yerr=s, fmt="o-", color=c, capsize=3, label=label)
    ax.set(xlabel="dropout rate", ylabel="accuracy / gap", title=f"(a) {arch}, true labels", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    ax = axes[1]
    rnd = [r for r in rows if r["arch"] == arch and r["labels"] == "random" and not r["weight_decay"]]
    for p in sorted({r["dropout"] for r in rnd}):
        v = [r["train_acc"] for r in rnd if r["dropout"] == p]
        ax.bar(f"dropout {p:g}", np.mean(v), 0.6, yerr=np.std(v, ddof=1) if len(v) > 1 else 0, color="C3", capsize=3)
    ax.axhline(0.99, color="k", ls=":", lw=1, label="fit (0.99)")
    ax.set(ylabel="train accuracy reached", title=f"(b) {arch}, random labels", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    return fig
