"""Does a complexity measure predict generalization across a set of trained models?

Input: a table (a list of dicts, or anything with ``to_dict("records")`` such as a pandas DataFrame), one row per trained model, with the
hyperparameter columns (``axes``), the measure's value and the generalization gap ``gap``.
All scores treat larger measure ↔ larger gap as agreement; negate a measure whose expected
sign is negative first (see the registry's ``sign``).

* Kendall τ (Jiang et al. 2020, "Fantastic generalization measures and where to find them", eq. 2),
  the tie-unadjusted τ_a: τ = (2 / (N(N−1))) Σ_{a<b} sgn(μ_a − μ_b) sgn(g_a − g_b).
* Granulated Ψ (their eq. 3): ψ_i = mean, over groups of models sharing every axis except i
  (and every ``group_by`` column, e.g. the seed), of τ within the group; Ψ = mean_i ψ_i.
* Conditional mutual information (their §5, eqs. 4–5), Î(S) = I(V_μ; V_g | U_S) / H(V_g | U_S)
  and K(μ) = min_S Î(S), U_S = a pair's values (h_a, h_b) of the axes in S. Two conventions:
  ``"pgdl"`` (default) is the reference implementation, the PGDL competition's scoring program
  (Jiang et al., ``scoring_program/mutual_information.py``, e.g. in cadurosar/pgdl): all
  ordered pairs (a, b) *including a = b* (lines 82–83), binary V_g = [g_a > g_b] and
  V_μ = [μ_a > μ_b] (ties fall on the "−" side, lines 85–86), S over the pairs of *distinct*
  hyperparameters only (|S| = 2, lines 163–165), and the conditional MI and entropy averaged over
  the U_S cells *without* weighting by their pair counts (lines 126–138; equal weights in a full
  grid); empty cells are skipped (the reference turns them into NaN). ``"pairs"`` is dlscope's
  earlier reading: ordered pairs of distinct models, V = sgn(·) ∈ {−1, 0, +1}, every S with
  |S| ≤ ``max_set_size`` (the empty set included), cells weighted by their pair counts. Natural
  logs (the ratio does not depend on the base); Î(S) := 0 when H(V_g | U_S) = 0 (the axes in S
  already fix the ordering). Being a mutual information, K does not see the direction: μ and
  −μ score the same.
* Sign-error (Dziugaite et al. 2020, "In search of robust measures of generalization"): for
  coupled pairs — models differing in exactly one axis (all other axes and ``group_by`` equal) —
  SE = ½ (1 − sgn(Δμ) sgn(Δg)); averaged within each environment (the axis and the two settings
  compared, with the others fixed); reported as the mean over environments and the worst one.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict

import numpy as np

from .._core.result import Result

__all__ = ["kendall_tau", "granulated_tau", "conditional_mi", "sign_error"]


def kendall_tau(measure, gap) -> float:
    """τ_a between two sequences (ties count as 0). Needs at least two entries."""
    m, g = np.asarray(measure, dtype=float), np.asarray(gap, dtype=float)
    n = len(m)
    if n < 2:
        raise ValueError("Kendall τ needs at least two models")
    dm = np.sign(m[:, None] - m[None, :])
    dg = np.sign(g[:, None] - g[None, :])
    return float((dm * dg)[np.triu_indices(n, 1)].sum() * 2.0 / (n * (n - 1)))


def _rows(table) -> list[dict]:
    return table.to_dict("records") if hasattr(table, "to_dict") else [dict(r) for r in table]


def _key(v):
    return "nan" if isinstance(v, float) and math.isnan(v) else v


def _groups(rows: list[dict], keys: list) -> list[list[dict]]:
    """Rows grouped by their values of ``keys`` (all rows in one group when there are no keys)."""
    out = defaultdict(list)
    for r in rows:
        out[tuple(_key(r[k]) for k in keys)].append(r)
    return [out[k] for k in sorted(out, key=str)]


def granulated_tau(table, measure: str, *, axes, gap: str = "gap", group_by=()) -> Result:
    """Ψ = mean over axes of ψ_i (module docstring); ``extra['psi']`` has each ψ_i."""
    rows = _rows(table)
    psi, groups = {}, {}
    for ax in axes:
        keys = [a for a in axes if a != ax] + list(group_by)
        taus = []
        for grp in _groups(rows, keys):
            if len({_key(r[ax]) for r in grp}) >= 2:
                taus.append(kendall_tau([r[measure] for r in grp], [r[gap] for r in grp]))
        psi[ax] = float(np.mean(taus)) if taus else float("nan")
        groups[ax] = len(taus)
    valid = [v for v in psi.values() if not math.isnan(v)]
    return Result("granulated_tau", float(np.mean(valid)) if valid else float("nan"),
                  settings={"measure": measure, "axes": list(axes), "group_by": list(group_by)},
                  extra={"psi": psi, "groups": groups,
                         "tau": kendall_tau([r[measure] for r in rows], [r[gap] for r in rows])})


def _entropy(counts: Counter) -> float:
    n = sum(counts.values())
    return -sum(c / n * math.log(c / n) for c in counts.values() if c)


def _cond_mi(vm, vg, u, weighted: bool = True) -> tuple[float, float]:
    """I(V_μ; V_g | U) and H(V_g | U) from paired samples, plug-in estimates; cells weighted by
    their share of the pairs, or (``weighted=False``) averaged with equal weights."""
    by_u = defaultdict(list)
    for a, b, c in zip(vm, vg, u):
        by_u[c].append((a, b))
    n = len(vm)
    mi = h = 0.0
    for pairs in by_u.values():
        w = len(pairs) / n if weighted else 1.0 / len(by_u)
        hm, hg = _entropy(Counter(a for a, _ in pairs)), _entropy(Counter(b for _, b in pairs))
        hj = _entropy(Counter(pairs))
        mi += w * (hm + hg - hj)
        h += w * hg
    return mi, h


CONVENTIONS = ("pgdl", "pairs")


def conditional_mi(table, measure: str, *, axes, gap: str = "gap", max_set_size: int = 2,
                   convention: str = "pgdl") -> Result:
    """K(μ) = min over conditioning sets S of Î(S) (module docstring); ``extra['by_set']`` has all.

    ``convention="pgdl"`` (default): the PGDL reference; S ranges over the pairs of distinct axes
    (with fewer than two axes, S = all axes). ``"pairs"``: S over every subset with
    |S| ≤ ``max_set_size``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
    rows = _rows(table)
    m, g = np.array([r[measure] for r in rows], float), np.array([r[gap] for r in rows], float)
    n = len(rows)
    pgdl = convention == "pgdl"
    pairs = [(a, b) for a in range(n) for b in range(n) if pgdl or a != b]
    pa, pb = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    if pgdl:
        vm, vg = (m[pa] > m[pb]).tolist(), (g[pa] > g[pb]).tolist()
        sets = list(itertools.combinations(axes, 2)) if len(axes) >= 2 else [tuple(axes)]
    else:
        vm, vg = np.sign(m[pa] - m[pb]).tolist(), np.sign(g[pa] - g[pb]).tolist()
        sets = [s for size in range(0, max_set_size + 1) for s in itertools.combinations(axes, size)]
    hp = {ax: [_key(r[ax]) for r in rows] for ax in axes}
    by_set = {}
    for s in sets:
        u = [tuple((hp[ax][a], hp[ax][b]) for ax in s) for a, b in zip(pa, pb)]
        mi, h = _cond_mi(vm, vg, u, weighted=not pgdl)
        by_set[s] = mi / h if h > 1e-12 else 0.0
    worst = min(by_set, key=by_set.get)
    return Result("conditional_mi", by_set[worst],
                  settings={"measure": measure, "axes": list(axes), "convention": convention, "log": "natural",
                            "max_set_size": 2 if pgdl else max_set_size,
                            "pairs": "all ordered, a = b included" if pgdl else "ordered, distinct",
                            "cells": "equal weights" if pgdl else "weighted by pair counts"},
                  extra={"argmin_set": list(worst), "by_set": {",".join(k) or "{}": v for k, v in by_set.items()}})


def sign_error(table, measure: str, *, axes, gap: str = "gap", group_by=(), min_gap_diff: float = 0.0) -> Result:
    """Mean (over environments) and worst sign-error of coupled pairs (module docstring).

    Pairs with |Δg| ≤ ``min_gap_diff`` are dropped (their ordering is within noise).
    """
    rows = _rows(table)
    env = defaultdict(list)
    for ax in axes:
        keys = [a for a in axes if a != ax] + list(group_by)
        for grp in _groups(rows, keys):
            key = tuple(_key(grp[0][k]) for k in keys)
            for ra, rb in itertools.combinations(grp, 2):
                if ra[ax] == rb[ax]:
                    continue
                dg = ra[gap] - rb[gap]
                if abs(dg) <= min_gap_diff:
                    continue
                lo_, hi_ = sorted([ra[ax], rb[ax]], key=str)
                env[(ax, key, lo_, hi_)].append(0.5 * (1 - np.sign(ra[measure] - rb[measure]) * np.sign(dg)))
    if not env:
        raise ValueError("no coupled pairs (models differing in exactly one axis) in the table")
    per_env = {k: float(np.mean(v)) for k, v in env.items()}
    per_axis = {ax: float(np.mean([v for k, v in per_env.items() if k[0] == ax] or [float("nan")])) for ax in axes}
    values = np.array(list(per_env.values()))
    return Result("sign_error", float(values.mean()),
                  settings={"measure": measure, "axes": list(axes), "group_by": list(group_by),
                            "min_gap_diff": min_gap_diff},
                  extra={"max": float(values.max()), "q90": float(np.quantile(values, 0.9)),
                         "per_axis": per_axis, "environments": len(values),
                         "pairs": int(sum(len(v) for v in env.values()))})
