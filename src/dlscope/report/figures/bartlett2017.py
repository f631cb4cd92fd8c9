"""Figures of Bartlett et al. 2017 (spectrally-normalized margins)."""
from __future__ import annotations

import numpy as np

from . import subplots, density, LABELS, COLORS

__all__ = ["margin_densities", "complexity_curves"]


def margin_densities(dists: dict):
    """Bartlett et al. 2017, Fig. 2: densities of raw margins (left) and normalized margins
    M / (R_A ‖X‖_F / n) (right) on the training set. ``dists``: run kind → (raw, normalized)."""
    fig, axes = subplots(1, 2, figsize=(12, 4.2))
    for kind, (raw, norm) in dists.items():
        for ax, v in zip(axes, (raw, norm)):
            density(ax, v, COLORS.get(kind, None), f"{LABELS.get(kind, kind)} (median {np.median(v):.3g})")
    axes[0].set(xlabel="margin  f(x)_y − max_{j≠y} f(x)_j", ylabel="density", title="raw margins")
    axes[1].set(xlabel="normalized margin  margin / (R_A ‖X‖_F / n)", ylabel="density",
                title="spectrally-normalized margins")
    for ax in axes:
        ax.axvline(0, color="gray", lw=0.8)
        ax.legend(fontsize=9)
    return fig


def complexity_curves(curves: dict, rows: list):
    """Bartlett et al. 2017, Fig. 1: R_A and ∏‖A_i‖_σ along training (step 0 = initialization, x = first
    fit), and each net's bounds next to its test error. ``curves``: run → [(step, R_A, prod_spec)];
    ``rows``: one dict per run."""
    fig, axes = subplots(1, 3, figsize=(16, 4.2))
    seeds = list(dict.fromkeys(name.rsplit("seed", 1)[-1] for name in curves))
    for name, pts in curves.items():
        kind = "random_labels" if name.startswith("random") else "true_labels"
        steps, ra, prod = (np.array(c, dtype=float) for c in zip(*pts))
        seed = name.rsplit("seed", 1)[-1]
        ls = ("-", "--", ":", "-.")[seeds.index(seed) % 4]
        fit = next((r["first_fit_step"] for r in rows if r["run"] == name), None)
        for ax, v in zip(axes[:2], (ra, prod)):
            ax.plot(steps, v, color=COLORS[kind], ls=ls, label=f"{LABELS[kind]}, seed {seed}")
            if fit is not None and fit in steps:  # Fig. 1's "x": the first step with (near) zero training error
                ax.plot([fit], v[list(steps).index(fit)], "kx", ms=8)
    axes[0].set(xlabel="SGD steps", ylabel="R_A", yscale="log", title="spectral complexity R_A  (x: first fit)")
    axes[1].set(xlabel="SGD steps", ylabel="∏ ‖A_i‖_σ", yscale="log", title="product of spectral norms")
    axes[0].legend(fontsize=8)
    ax = axes[2]
    keys = (("test_error", "test error"), ("spectral_bound", "spectral margin bound"),
            ("complexity_term", "complexity term ‖X̃‖R_A/(γn)"), ("vc_bound", "VC bound"))
    x = np.arange(len(rows))
    for j, (k, lab) in enumerate(keys):
        vals = [r[k] for r in rows]
        bars = ax.bar(x + (j - 1.5) * 0.2, vals, width=0.19, label=lab, color=f"C{j + 1 if j else 7}")
        for b, v in zip(bars, vals):
            ax.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="1 (vacuous above)")
    ax.set_xticks(x, [r["run"].replace("_labels_seed", " s") for r in rows], fontsize=8)
    top = max(max(r[k] for r in rows) for k, _ in keys)
    ax.set(yscale="log", ylabel="error / bound on error", title="bounds and complexity term next to test error",
           ylim=(None, top * 30))
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return fig

