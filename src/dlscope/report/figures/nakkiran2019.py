"""Figures of model-wise double descent (Nakkiran et al. 2019; Belkin et al. 2019)."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["double_descent_figure", "random_features_figure"]


def _band(ax, x, mean, sd, color, label, ls="-"):
    mean, sd = np.asarray(mean), np.asarray(sd)
    ax.plot(x, mean, ls, color=color, marker="o", ms=3, label=label)
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)


def double_descent_figure(curves: dict, threshold, reference: dict | None = None, num_classes: int = 10):
    """Test and train error vs hidden width, one panel per label-noise level.

    ``curves[p][key] = (widths, mean, sd)`` for key in test_error, train_error; ``threshold``: the
    interpolation threshold width of the first level (or None); ``reference``: {h: test error} of the
    notebook, drawn on the noisy panel.
    """
    levels = list(curves)
    fig, axes = subplots(1, len(levels), figsize=(6 * len(levels), 4.3), squeeze=False, sharey=True)
    for ax, p in zip(axes[0], levels):
        w, m, s = curves[p]["test_error"]
        _band(ax, w, m, s, "C0", "test error (mean ± sd)")
        w, m, s = curves[p]["train_error"]
        _band(ax, w, m, s, "C1", "train error (mean ± sd)", ls="--")
        if reference and p > 0:
            ax.plot(list(reference), list(reference.values()), ":", color="gray", marker="s", ms=2,
                    label="mnist1d notebook, test (500 epochs)")
        if p > 0:
            wrong = p * (1 - 1 / num_classes)  # a random label may coincide with the true one
            ax.axhline(wrong, color="gray", lw=0.8, ls="-.", label=f"expected wrong train labels ({wrong:.3f})")
        if threshold is not None and p == levels[0]:
            ax.axvline(threshold, color="k", ls=":", lw=1, label=f"interpolation threshold h = {threshold}")
        ax.set(xscale="log", xlabel="hidden units h (MLP 40-h-h-10)", title=f"label noise {p:g}", ylim=(0, None))
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("classification error")
    return fig


def random_features_figure(curves: dict, n: int):
    """Minimum-norm random features: test squared loss and test/train error vs N (``curves[key] = (N, mean, sd)``)."""
    fig, axes = subplots(1, 2, figsize=(12, 4.3))
    ax = axes[0]
    floor = 1e-3  # interpolating fits have train loss ~1e-28: drawn at the floor so the test curve keeps the scale
    N, m, s = curves["test_mse"]
    ax.plot(N, m, "-", color="C0", marker="o", ms=3, label="test squared loss (mean ± sd)")
    ax.fill_between(N, np.maximum(m - s, floor), m + s, color="C0", alpha=0.2, lw=0)
    N, m, _ = curves["train_mse"]
    ax.plot(N, np.maximum(m, floor), "--", color="C1", marker="o", ms=3,
            label=f"train squared loss (< {floor:g} drawn at {floor:g})")
    ax.set(xscale="log", yscale="log", xlabel="random features N", ylabel="squared loss ‖h(x) − e_y‖²",
           title="(a) squared loss", ylim=(floor / 2, None))
    ax = axes[1]
    N, m, s = curves["test_error"]
    _band(ax, N, m, s, "C0", "test zero-one error")
    ax.set(xscale="log", xlabel="random features N", ylabel="classification error", title="(b) zero-one error")
    for ax in axes:
        ax.axvline(n, color="k", ls=":", lw=1, label=f"N = n = {n}")
        ax.legend(fontsize=8)
    return fig
