"""Figures of Bartlett, Evans & Long 2018 (near-identity compositions; the functional-gradient bound)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from . import subplots

__all__ = ["rate_figure", "gradient_figure"]


def _m_ticks(ax, ms) -> None:
    """Integer ticks at the m of the grid on a log axis (no overlapping minor labels)."""
    ms = sorted({int(m) for m in ms})
    step = max(1, len(ms) // 9)
    ax.set_xticks(ms[::step], [str(m) for m in ms[::step]])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _by(rows, key):
    out = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def rate_figure(rows: list, profiles: dict, profile_m: int):
    """max_i ‖h_i − Id‖_L against m (both schedules, first seed), the per-layer profile at ``profile_m``, and the
    composition error against m. ``profiles``: (map, schedule) → [‖h_i − Id‖_L per layer]."""
    fig, axes = subplots(1, 3, figsize=(16, 4.6))
    seed = rows[0]["seed"]
    maps = list(dict.fromkeys(r["map"] for r in rows))
    colors = {name: f"C{i}" for i, name in enumerate(maps)}
    for (name, kind), sel in _by([r for r in rows if r["seed"] == seed], lambda r: (r["map"], r["schedule"])).items():
        m = np.array([r["m"] for r in sel], dtype=float)
        ls = "-" if kind == "uniform" else "--"
        axes[0].plot(m, [r["max_lipschitz"] for r in sel], "o" + ls, ms=3, color=colors[name], label=f"{name}, {kind}")
        axes[2].plot(m, np.maximum([r["composition_error"] for r in sel], 1e-17), "o" + ls, ms=3, color=colors[name],
                     label=f"{name}, {kind}")
    m = np.array(sorted({r["m"] for r in rows}), dtype=float)
    top = max(r["max_lipschitz"] for r in rows if r["m"] == m[0])
    axes[0].plot(m, top * m[0] / m, "k:", lw=1.2, label="C / m")
    mm = m[m > 1]
    axes[0].plot(mm, top * (mm / np.log(mm)) [0] * np.log(mm) / mm, "k-.", lw=1.0, label="C log m / m")
    axes[0].set(xscale="log", yscale="log", xlabel="number of layers m", ylabel="max_i ‖h_i − Id‖_L (estimate)",
                title="near-identity layers: the rate")
    axes[0].legend(fontsize=7)
    for (name, kind), lips in profiles.items():
        i = np.arange(1, len(lips) + 1) / len(lips)
        axes[1].plot(i, lips, "o-" if kind == "uniform" else "o--", ms=3, color=colors[name], label=f"{name}, {kind}")
    axes[1].set(xlabel="layer i / m", ylabel="‖h_i − Id‖_L (estimate)", title=f"per layer, m = {profile_m}")
    axes[1].legend(fontsize=7)
    axes[2].axhline(1e-6, color="k", ls="--", lw=1, label="tolerance 1e-6")
    axes[2].set(xscale="log", yscale="log", xlabel="number of layers m", ylabel="max ‖h_m∘⋯∘h_1(x) − h(x)‖",
                title="the composition equals h")
    axes[2].legend(fontsize=7)
    _m_ticks(axes[0], m)
    _m_ticks(axes[2], m)
    return fig


def gradient_figure(rows: list):
    """Smallest and largest ratio over layers of the Thm 3 check, against m, per map (uniform schedule)."""
    fig, ax = subplots(figsize=(7, 4.6))
    sel = [r for r in rows if r.get("gradient_ratio_min") is not None]
    for i, (name, rs) in enumerate(_by(sel, lambda r: r["map"]).items()):
        for seed, s in _by(rs, lambda r: r["seed"]).items():
            m = [r["m"] for r in s]
            ax.plot(m, [r["gradient_ratio_min"] for r in s], "o-", ms=3, color=f"C{i}",
                    label=f"{name} (min over layers)" if seed == rs[0]["seed"] else None)
            ax.plot(m, [r["gradient_ratio_max"] for r in s], "^:", ms=3, color=f"C{i}", alpha=0.6,
                    label=f"{name} (max over layers)" if seed == rs[0]["seed"] else None)
    ax.axhline(1.0, color="k", lw=1, label="1 (the theorem)")
    ax.axhline(2.0, color="gray", ls=":", lw=1, label="2 (what the proof gives)")
    ax.set(xscale="log", yscale="log", xlabel="number of layers m",
           ylabel="‖D_{h_i}Q‖ / ((1 − ε)^{m−1}(Q − Q*)/‖h − h*‖)", title="functional-gradient lower bound")
    _m_ticks(ax, [r["m"] for r in sel])
    ax.legend(fontsize=7)
    return fig
