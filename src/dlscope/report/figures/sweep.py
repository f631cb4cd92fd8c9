"""Figures of a sweep (``dlscope report SWEEP``): every number with its spread over seeds.

Each panel plots one column of the aggregated table against the sweep's x axis (the first grid key
whose values are all numbers, on a log scale when they span more than a decade; else the cells in
order), one line per combination of the other grid values: the mean over seeds with error bars of
the 95 % confidence interval of the mean (t₀.₉₇₅,ₙ₋₁ · sd / √n), and each seed's value as a dot.
Claims are drawn as the fraction of the evaluable seeds in which they held (cells where a claim was
not evaluable in any seed are left out), with the Wilson 95 % interval
(p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n), z = 1.96.
"""
from __future__ import annotations

import math

from . import subplots

__all__ = ["errorbar_panels", "wilson", "x_axis"]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (Wilson 1927)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    mid, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (mid - half) / (1 + z * z / n), (mid + half) / (1 + z * z / n)


def x_axis(cells: list[dict], grid_keys: list[str]) -> str | None:
    """The first grid key whose values are all numbers and that takes more than one value."""
    for k in grid_keys:
        vals = [c[k] for c in cells]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals) and len(set(vals)) > 1:
            return k
    return None


def _series(cells: list[dict], grid_keys: list[str], x: str | None) -> dict:
    groups: dict = {}
    for c in cells:
        label = ", ".join(f"{k}={c[k]}" for k in grid_keys if k != x) or "all"
        groups.setdefault(label, []).append(c)
    return groups


def errorbar_panels(cells: list[dict], columns: list[str], grid_keys: list[str], *, title: str = "", ncols: int = 3):
    """One panel per column of the aggregated table ``cells`` (see :mod:`dlscope.sweep.table`)."""
    n = len(columns)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.4 * ncols, 3.3 * nrows), squeeze=False)
    x = x_axis(cells, grid_keys)
    groups = _series(cells, grid_keys, x)
    for i, col in enumerate(columns):
        ax = axes[i // ncols][i % ncols]
        for j, (label, cs) in enumerate(groups.items()):
            cs = sorted(cs, key=lambda c: c[x]) if x else cs
            xs = [c[x] for c in cs] if x else [cells.index(c) for c in cs]
            shift = 0.0 if x else 0.08 * (j - (len(groups) - 1) / 2)
            means, errs, dots = [], [], []
            for xv, c in zip(xs, cs):
                v = c.get(col) or {}
                if "counts" in v:  # over the seeds where the claim was evaluable: "not evaluable" is no failure
                    k, m = v["counts"].get("held", 0), v["n"] - v["counts"].get("not evaluable", 0)
                    lo, hi = wilson(k, m) if m else (math.nan, math.nan)
                    means.append(k / m if m else math.nan)
                    errs.append((k / m - lo, hi - k / m) if m else (math.nan, math.nan))
                else:
                    mean = v.get("mean")
                    means.append(math.nan if mean is None else mean)
                    ci = v.get("ci95")
                    errs.append((0.0, 0.0) if ci is None else (ci, ci))
                    dots += [(xv, y) for y in v.get("values", [])]
            xs_plot = [xv + shift for xv in xs] if not x else xs
            ax.errorbar(xs_plot, means, yerr=[[e[0] for e in errs], [e[1] for e in errs]], fmt="o-", capsize=3,
                        color=f"C{j}", label=label if len(groups) > 1 else None)
            if dots:
                ax.plot([d[0] + shift for d in dots], [d[1] for d in dots], ".", color=f"C{j}", alpha=0.35)
        ax.set_title(col + (" (fraction of evaluable seeds held)" if col.startswith("claim:") else ""), fontsize=9)
        if not any((c.get(col) or {}).get("mean") is not None or "counts" in (c.get(col) or {}) for c in cells):
            ax.text(0.5, 0.5, "no value in any cell\n(e.g. target never reached)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8, color="0.4")
        elif col.startswith("claim:") and all(_evaluable((c.get(col) or {})) == 0 for c in cells):
            ax.text(0.5, 0.5, "not evaluable in any seed", ha="center", va="center", transform=ax.transAxes,
                    fontsize=8, color="0.4")
        if x:
            ax.set_xlabel(x)
            vals = [c[x] for c in cells]
            if min(vals) > 0 and max(vals) / min(vals) > 10:
                ax.set_xscale("log")
        else:
            ax.set_xticks(range(len(cells)), [c["cell"] for c in cells], rotation=30, ha="right", fontsize=7)
        if col.startswith("claim:"):
            ax.set_ylim(-0.05, 1.05)
        if len(groups) > 1 and i == 0:
            ax.legend(fontsize=7)
    for i in range(n, nrows * ncols):
        axes[i // ncols][i % ncols].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _evaluable(v: dict) -> int:
    """Seeds of a cell in which a claim was evaluable (held or not held)."""
    return v.get("n", 0) - v.get("counts", {}).get("not evaluable", 0) if "counts" in v else 0
