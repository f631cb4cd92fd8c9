"""Figures of the dziugaite2017-nonvacuous preset."""
from __future__ import annotations

import numpy as np

from . import subplots

__all__ = ["bounds_figure", "optimization_figure"]

_BARS = (("data-free", "bound", "PAC-Bayes, prior at init", "C0"),
         ("data-dependent", "bound", "PAC-Bayes, learnt prior", "C2"),
         (None, "vc_bound", "VC bound", "C7"), (None, "spectral_bound", "spectral margin bound", "C1"))


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def bounds_figure(rows: list):
    """Left: every bound of each net (mean over seeds, log scale) with the stochastic net's test error;
    right: the PAC-Bayes bounds split into ê_Q, the Monte-Carlo term and the PAC-Bayes term."""
    fig, axes = subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    nets = list(dict.fromkeys(r["net"] for r in rows))
    ax, x, w = axes[0], np.arange(len(nets)), 0.2
    for j, (prior, key, label, color) in enumerate(_BARS):
        vals = []
        for net in nets:
            sel = [r for r in rows if r["net"] == net and (prior is None or r["prior"] == prior)]
            vals.append(_mean(sel, key))
        pos = x + (j - 1.5) * w
        ax.bar(pos, vals, width=w, color=color, label=label)
        for p, v in zip(pos, vals):
            if np.isfinite(v):
                ax.text(p, v * 1.08, f"{v:.2f}" if v < 10 else f"{v:.0f}", ha="center", fontsize=7)
    for i, net in enumerate(nets):
        sel = [r for r in rows if r["net"] == net]
        ax.plot(i, _mean(sel, "snn_test_error"), "kD", ms=6, label="stochastic net's test error" if i == 0 else None)
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.axhline(0.5, color="C3", ls=":", lw=1, label="chance (two classes)")
    ax.set_xticks(x, [f"{net}\n(n = {rows[[r['net'] for r in rows].index(net)]['n']:,} for the data-free bound)"
                      for net in nets], fontsize=8)
    vals = [r[k] for r in rows for k in ("bound", "vc_bound", "spectral_bound", "snn_test_error") if r[k] > 0]
    ax.set(yscale="log", ylabel="bound on the test error", title="Bounds on the same nets (above 1: vacuous)",
           ylim=(min(vals) / 2, max(vals) * 20))
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[1]
    pb = [(net, p) for net in nets for p in ("data-free", "data-dependent")
          if any(r["net"] == net and r["prior"] == p for r in rows)]
    labels, bottoms = [], np.zeros(len(pb))
    parts = [("snn_train_error", None, "ê_Q (stochastic training error)", "C0"),
             ("snn_train_error_bound", "snn_train_error", "Monte-Carlo term", "C9"),
             ("bound", "snn_train_error_bound", "PAC-Bayes term (KL, ln(2√n/δ), grid)", "C1")]
    for key, base, label, color in parts:
        vals = []
        for net, p in pb:
            sel = [r for r in rows if r["net"] == net and r["prior"] == p]
            vals.append(_mean(sel, key) - (_mean(sel, base) if base else 0.0))
        ax.barh(np.arange(len(pb)), vals, left=bottoms, color=color, label=label)
        bottoms += np.asarray(vals)
    for i, (net, p) in enumerate(pb):
        sel = [r for r in rows if r["net"] == net and r["prior"] == p]
        ax.plot(_mean(sel, "snn_test_error"), i, "kD", ms=5)
        labels.append(f"{net}, {p}\nKL = {_mean(sel, 'kl'):,.0f}")
    ax.set_yticks(np.arange(len(pb)), labels, fontsize=8)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set(xlim=(0, 1.05), xlabel="bound (mean over seeds)", title="What the PAC-Bayes bound is made of")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def optimization_figure(histories: dict):
    """The objective (left) and KL(Q‖P) (right, log scale) along each posterior optimization."""
    fig, axes = subplots(1, 2, figsize=(12, 4))
    for i, (name, hist) in enumerate(histories.items()):
        steps = [h["step"] for h in hist]
        axes[0].plot(steps, [h["objective"] for h in hist], color=f"C{i % 10}", label=name)
        axes[1].plot(steps, [h["kl"] for h in hist], color=f"C{i % 10}")
    axes[0].set(xlabel="step", ylabel="objective", yscale="log", title="PAC-Bayes objective (one draw per step)")
    axes[1].set(xlabel="step", ylabel="KL(Q‖P)", yscale="log", title="KL divergence to the prior")
    axes[0].legend(fontsize=7)
    return fig
