"""Figures of Keskar et al. 2017 (large batch)."""
from __future__ import annotations

from . import subplots

__all__ = ["keskar_figure"]


def keskar_figure(rows: list, line: dict, small: int, large: int):
    """Keskar et al. 2017: (left) loss and accuracy along (1 − α) θ_SB + α θ_LB (their Fig. 3);
    (right) λ_max and ε-sharpness of each solution."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    for split, ls in (("train", "-"), ("test", "--")):
        ax.plot(line[split]["alpha"], line[split]["loss"], "C0" + ls, label=f"{split} loss")
    ax.set(xlabel="α  (0: small batch, 1: large batch)", ylabel="cross-entropy", yscale="log")
    ax2 = ax.twinx()
    for split, ls in (("train", "-"), ("test", "--")):
        ax2.plot(line[split]["alpha"], line[split]["acc"], "C1" + ls, label=f"{split} accuracy")
    ax2.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    ax2.legend(loc="upper right")
    ax.set_title(f"linear interpolation, B={small} vs B={large}")
    ax = axes[1]
    for i, key in enumerate(("lambda_max", "keskar_sharpness")):
        for j, tag in enumerate(("SB", "LB")):
            vals = [r[key] for r in rows if r["run"].startswith(tag)]
            ax.bar(2 * i + j * 0.8, sum(vals) / len(vals), width=0.7, color=f"C{j}", label=tag if i == 0 else None)
            ax.plot([2 * i + j * 0.8] * len(vals), vals, "k.")
    ax.set_xticks([0.4, 2.4], ["λ_max", "ε-sharpness (%)"])
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("sharpness of the two solutions")
    return fig
