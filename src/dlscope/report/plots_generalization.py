"""Figures of the generalization presets (Bartlett et al. 2017, Jiang et al. 2020, VC bounds).

Each function takes the numbers the preset measured and returns a matplotlib figure; only
:func:`dlscope.report.plots.save` writes (STYLE #14).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .plots import plt

__all__ = ["margin_densities", "complexity_curves", "measure_ranking", "vc_bounds_figure"]

_LABEL = {"true_labels": "true labels", "random_labels": "random labels"}
_COLOR = {"true_labels": "C0", "random_labels": "C3"}


def _density(ax, values: np.ndarray, color: str, label: str) -> None:
    v = np.asarray(values, dtype=float)
    lo, hi = np.quantile(v, [0.001, 0.999])
    pad = 0.1 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 300)
    dens = stats.gaussian_kde(v)(grid) if np.ptp(v) > 0 else np.zeros_like(grid)
    ax.plot(grid, dens, color=color, label=label)
    ax.fill_between(grid, dens, color=color, alpha=0.2)


def margin_densities(dists: dict):
    """Bartlett et al. 2017, Fig. 2: densities of raw margins (left) and normalized margins
    M / (R_A ‖X‖_F / n) (right) on the training set. ``dists``: run kind → (raw, normalized)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for kind, (raw, norm) in dists.items():
        for ax, v in zip(axes, (raw, norm)):
            _density(ax, v, _COLOR.get(kind, None), f"{_LABEL.get(kind, kind)} (median {np.median(v):.3g})")
    axes[0].set(xlabel="margin  f(x)_y − max_{j≠y} f(x)_j", ylabel="density", title="raw margins")
    axes[1].set(xlabel="normalized margin  margin / (R_A ‖X‖_F / n)", ylabel="density",
                title="spectrally-normalized margins")
    for ax in axes:
        ax.axvline(0, color="gray", lw=0.8)
        ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def complexity_curves(curves: dict, rows: list):
    """Bartlett et al. 2017, Fig. 1: R_A and ∏‖A_i‖_σ along training (step 0 = initialization, x = first
    fit), and each net's bounds next to its test error. ``curves``: run → [(step, R_A, prod_spec)];
    ``rows``: one dict per run."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    seeds = list(dict.fromkeys(name.rsplit("seed", 1)[-1] for name in curves))
    for name, pts in curves.items():
        kind = "random_labels" if name.startswith("random") else "true_labels"
        steps, ra, prod = (np.array(c, dtype=float) for c in zip(*pts))
        seed = name.rsplit("seed", 1)[-1]
        ls = ("-", "--", ":", "-.")[seeds.index(seed) % 4]
        fit = next((r["first_fit_step"] for r in rows if r["run"] == name), None)
        for ax, v in zip(axes[:2], (ra, prod)):
            ax.plot(steps, v, color=_COLOR[kind], ls=ls, label=f"{_LABEL[kind]}, seed {seed}")
            if fit is not None and fit in steps:  # Fig. 1's "x": the first step with (near) zero training error
                ax.plot([fit], v[list(steps).index(fit)], "kx", ms=8)
    axes[0].set(xlabel="SGD steps", ylabel="R_A", yscale="log", title="spectral complexity R_A  (x: first fit)")
    axes[1].set(xlabel="SGD steps", ylabel="∏ ‖A_i‖_σ", yscale="log", title="product of spectral norms")
    axes[0].legend(fontsize=8)
    ax = axes[2]
    keys = (("test_error", "test error"), ("spectral_bound", "spectral margin bound"), ("vc_bound", "VC bound"))
    x = np.arange(len(rows))
    for j, (k, lab) in enumerate(keys):
        vals = [r[k] for r in rows]
        bars = ax.bar(x + (j - 1) * 0.27, vals, width=0.26, label=lab, color=f"C{j + 1 if j else 7}")
        for b, v in zip(bars, vals):
            ax.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="1 (vacuous above)")
    ax.set_xticks(x, [r["run"].replace("_labels_seed", " s") for r in rows], fontsize=8)
    top = max(max(r[k] for r in rows) for k, _ in keys)
    ax.set(yscale="log", ylabel="error / bound on error", title="bounds next to measured test error",
           ylim=(None, top * 30))
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


_FAMILY_COLOR = {"flatness": "C2", "spectral": "C3", "params": "C7", "norm": "C0", "margin": "C1",
                 "sharpness": "C4", "path": "C5"}


def measure_ranking(rows: list, axes_names: list):
    """Jiang et al. 2020, Table 1 as bars: τ, Ψ (with each ψ_axis as dots) and the CMI score K
    per measure, sorted by Ψ. ``rows``: one dict per measure with ``measure``, ``family``,
    ``tau``, ``Psi``, ``psi_<axis>``, ``cmi``."""
    rows = sorted(rows, key=lambda r: -np.inf if math.isnan(r["Psi"]) else r["Psi"])
    names = [r["measure"] for r in rows]
    colors = [_FAMILY_COLOR.get(r["family"], "C9") for r in rows]
    y = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.28 * len(rows) + 1.8), sharey=True)
    axes[0].barh(y, [r["tau"] for r in rows], color=colors)
    axes[0].set(title="Kendall τ (all models)", xlim=(-1, 1))
    axes[1].barh(y, [r["Psi"] for r in rows], color=colors)
    for k, ax_name in enumerate(axes_names):
        axes[1].plot([r.get(f"psi_{ax_name}", np.nan) for r in rows], y, "o", ms=3, color=f"C{k}",
                     mfc="none", label=f"ψ {ax_name}")
    axes[1].set(title="granulated Ψ (dots: ψ per hyperparameter)", xlim=(-1, 1))
    axes[1].legend(fontsize=7, loc="lower right")
    bars = axes[2].barh(y, [r["cmi"] for r in rows], color=colors)
    for bar, r in zip(bars, rows):  # K does not see the direction: mark measures that rank the wrong way
        if r["tau"] < 0:
            bar.set(hatch="///", alpha=0.5)
    axes[2].set(title="conditional mutual information K  (hatched: τ < 0)", xlim=(0, None))
    axes[0].set_yticks(y, names, fontsize=8)
    for ax in axes[:2]:
        ax.axvline(0, color="k", lw=0.8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in _FAMILY_COLOR.values()]
    fig.legend(handles, list(_FAMILY_COLOR), loc="upper center", ncol=len(_FAMILY_COLOR), fontsize=8,
               bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def vc_bounds_figure(rows: list, bound_keys: list, n: int):
    """VC-dimension bounds of each net next to the training-set size n (left, log scale) and the
    test errors of the same architecture on true vs random labels (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2, 1]})
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
        ax.bar(x + (j - 0.5) * 0.38, vals, width=0.36, color=_COLOR[kind], label=_LABEL[kind])
    ax.set_xticks(x, archs)
    ax.set(ylim=(0, 1.15), ylabel="test error", title="same architecture, same VC bound")
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    fig.tight_layout()
    return fig
