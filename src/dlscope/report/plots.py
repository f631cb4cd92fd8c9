"""Figures (matplotlib, Agg). Plot functions return the figure; only :func:`save` writes (STYLE #14)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["save", "zhang_figure1", "keskar_figure", "paths_figure", "temperature_figure", "saddles_figure", "landscape_figure"]

_LABELS = {"true_labels": "true labels", "random_labels": "random labels", "shuffled_pixels": "shuffled pixels",
           "random_pixels": "random pixels", "gaussian": "Gaussian"}


def save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def zhang_figure1(results: dict, chance: float):
    """Zhang et al. 2017, Fig. 1: (a) training loss vs steps per variant, (b) steps to fit vs
    label corruption p, (c) test error vs p."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for name, r in results.items():
        if name in _LABELS:
            steps = [m["step"] for m in r["curve"]]
            ax.plot(steps, [m["batch_loss"] for m in r["curve"]], label=_LABELS[name])
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
    fig.tight_layout()
    return fig


def keskar_figure(rows: list, line: dict, small: int, large: int):
    """Keskar et al. 2017: (left) loss and accuracy along (1 − α) θ_SB + α θ_LB (their Fig. 3);
    (right) λ_max and ε-sharpness of each solution."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
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
    fig.tight_layout()
    return fig


def paths_figure(paths: dict):
    """Training loss and error along each path between two minima (Garipov et al. 2018, Fig. 1).
    ``paths`` maps a name to (t, losses, errors)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, (t, losses, errors) in paths.items():
        axes[0].plot(t, [float(v) for v in losses], label=name)
        if errors is not None:
            axes[1].plot(t, [float(v) for v in errors], label=name)
    axes[0].set(xlabel="t along the path", ylabel="training loss", yscale="log", title="loss along the path")
    axes[1].set(xlabel="t along the path", ylabel="training error", title="error along the path")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig


def temperature_figure(rows: list):
    """λ_max and test accuracy against the SGD temperature η/B (Jastrzębski et al. 2017, Fig. 2);
    markers by batch size, hollow where the run did not reach the target loss."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    batches = sorted({r["batch"] for r in rows})
    for i, b in enumerate(batches):
        rs = sorted((r for r in rows if r["batch"] == b), key=lambda r: r["lr_over_B"])
        for ax, key in zip(axes, ("lambda_max", "test_acc")):
            x = [r["lr_over_B"] for r in rs]
            ax.plot(x, [r[key] for r in rs], "-", color=f"C{i}", alpha=0.5)
            for r in rs:
                ax.plot(r["lr_over_B"], r[key], "o", color=f"C{i}", mfc=f"C{i}" if r["fitted"] else "none",
                        label=f"B={b}" if r is rs[0] else None)
    axes[0].set(xscale="log", yscale="log", xlabel="η / B", ylabel="λ_max of the Hessian", title="sharpness")
    axes[1].set(xscale="log", xlabel="η / B", ylabel="test accuracy", title="generalization")
    axes[0].legend()
    fig.tight_layout()
    return fig


def saddles_figure(trajectory: list, critical: list):
    """Index α against training loss ε (Dauphin et al. 2014, Fig. 1): critical points found by
    minimizing ‖∇L‖² and the points of the SGD trajectory."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot([t["train_loss"] for t in trajectory], [t["index"] for t in trajectory], "o-", color="C0", alpha=0.6,
            label="SGD trajectory")
    sc = ax.scatter([c["loss"] for c in critical], [c["index"] for c in critical], c=[c["grad_norm"] for c in critical],
                    cmap="viridis", marker="s", s=50, label="critical points (min ‖∇L‖²)", zorder=3)
    fig.colorbar(sc, ax=ax, label="‖∇L‖ at the point")
    ax.set(xscale="log", xlabel="training loss ε", ylabel="index α (fraction of negative eigenvalues)",
           title="index vs loss")
    ax.legend()
    fig.tight_layout()
    return fig


def landscape_figure(slices: dict):
    """Contours of log training loss on 2-D filter-normalized slices (Li et al. 2018, Fig. 5).
    ``slices`` maps a name to (alphas, betas, losses[i, j])."""
    import numpy as np

    fig, axes = plt.subplots(1, len(slices), figsize=(5.8 * len(slices), 4.8), squeeze=False, layout="constrained")
    zs = [np.log10(np.asarray(z)) for _, _, z in slices.values()]
    levels = np.linspace(min(z.min() for z in zs), max(z.max() for z in zs), 30)
    for ax, (name, (a, b, _)), z in zip(axes[0], slices.items(), zs):
        cs = ax.contourf(a, b, z.T, levels=levels, cmap="viridis")
        ax.contour(a, b, z.T, levels=levels[::3], colors="k", linewidths=0.4)
        ax.plot([0], [0], "r*", ms=10)
        ax.set(xlabel="α (direction 1)", ylabel="β (direction 2)", title=f"{name}: log10 training loss")
    fig.colorbar(cs, ax=axes[0].tolist(), label="log10 loss")
    return fig
