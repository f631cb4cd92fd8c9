"""The results table of a sweep: one row per cell × seed, and one per cell aggregated over seeds.

A row is read from a task's ``summary.json`` (nothing is recomputed): the cell, its grid values, the
seed; ``claim:<key>`` = the claim's status on that seed; ``<key>.<name>`` = each number the claim
measured (a one-element list counts as its element, a "(mean ± sd)" pair as its mean); and
``<run>.<field>`` = each number of the preset's own table, ``<run>`` being the table row's ``run``
without its ``_seed<s>`` suffix (booleans count as 0/1).

Aggregated over the n seeds of a cell, each number gets mean, sample sd (n − 1), and the half-width
of the 95 % confidence interval of the mean, t₀.₉₇₅,ₙ₋₁ · sd / √n (Student t; none for n < 2); each
claim its count per status ("held 3/3"). Tasks not finished yet are listed, not guessed.
"""
from __future__ import annotations

import fnmatch
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .._io import read_json
from .grid import SweepSpec, load_spec

__all__ = ["table_rows", "aggregate", "select", "missing_tasks", "frame"]

_SEED_SUFFIX = re.compile(r"_seed\d+$")


def _number(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and math.isfinite(v):
        return v
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def _measured(prefix: str, measured) -> dict:
    out = {}
    for name, v in (measured.items() if isinstance(measured, dict) else []):
        label = name.replace(" (mean ± sd)", "")
        if isinstance(v, list) and len(v) == 1:
            v = v[0]
        elif isinstance(v, list) and len(v) == 2 and "(mean ± sd)" in name:
            v = v[0]
        if _number(v) is not None:
            out[f"{prefix}.{label}"] = _number(v)
    return out


def summary_row(summary: dict, skip: set) -> dict:
    """The numbers of one task's summary (claims first, then the preset's table)."""
    row: dict = {}
    for c in summary.get("claims", []):
        row[f"claim:{c['key']}"] = c.get("status")
    for c in summary.get("claims", []):
        row.update(_measured(c["key"], c.get("measured")))
    for i, r in enumerate(summary.get("table", [])):
        prefix = _SEED_SUFFIX.sub("", str(r.get("run", f"row{i}")))
        for k, v in r.items():
            if k not in ("run", "seed") and k not in skip and (_number(v) is not None or v is None):
                row[f"{prefix}.{k}"] = _number(v)
    return row


def table_rows(out: str | Path, spec: SweepSpec | None = None) -> list[dict]:
    """One row per finished task of the sweep in ``out``: {"cell", grid keys..., "seed", numbers...}."""
    spec = spec or load_spec(out)
    rows = []
    for t in spec.tasks(out):
        if t.done(spec.preset, spec.quick):
            rows.append({"cell": t.cell, **t.point, "seed": t.seed,
                         **summary_row(read_json(t.out / "summary.json"), set(spec.grid))})
    return rows


def missing_tasks(out: str | Path, spec: SweepSpec | None = None) -> list[str]:
    spec = spec or load_spec(out)
    return [t.label for t in spec.tasks(out) if not t.done(spec.preset, spec.quick)]


def _key_columns(spec: SweepSpec) -> list[str]:
    return ["cell", *spec.grid, "seed"]


def aggregate(rows: list[dict], spec: SweepSpec) -> list[dict]:
    """Per cell: grid values, n (seeds), and for each column {"mean", "sd", "ci95", "n", "values"} (numbers)
    or {"counts": {status: k}, "n"} (claims)."""
    keys = _key_columns(spec)
    cells: dict = {}
    for r in rows:
        cells.setdefault(r["cell"], []).append(r)
    out = []
    for cell, rs in cells.items():
        agg = {"cell": cell, **{k: rs[0][k] for k in spec.grid}, "n": len(rs)}
        columns = list(dict.fromkeys(k for r in rs for k in r if k not in keys))
        for col in columns:
            vals = [r.get(col) for r in rs]
            if col.startswith("claim:"):
                counts: dict = {}
                for v in vals:
                    counts[v or "missing"] = counts.get(v or "missing", 0) + 1
                agg[col] = {"counts": counts, "n": len(vals)}
            else:
                agg[col] = _spread([v for v in vals if v is not None and math.isfinite(v)])
        out.append(agg)
    return out


def _spread(v: list) -> dict:
    n = len(v)
    if n == 0:
        return {"mean": None, "sd": None, "ci95": None, "n": 0, "values": []}
    a = np.asarray(v, dtype=float)
    sd = float(a.std(ddof=1)) if n > 1 else None
    ci = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)) if n > 1 else None
    return {"mean": float(a.mean()), "sd": sd, "ci95": ci, "n": n, "values": [float(x) for x in a]}


def select(columns: list[str], patterns: list[str] | None) -> list[str]:
    """The columns matching any of the glob ``patterns`` (all when none), in the patterns' order."""
    if not patterns:
        return columns
    picked = [c for p in patterns for c in columns if fnmatch.fnmatchcase(c, p)]
    return list(dict.fromkeys(picked))


def frame(rows: list[dict], spec: SweepSpec, aggregated: bool = False, patterns: list[str] | None = None
          ) -> pd.DataFrame:
    """A DataFrame of the per-seed rows, or of the aggregate flattened to ``<col>.mean``, ``.sd``, ``.ci95``,
    ``.n`` (claims: ``<col>.held``, ``.n``); columns filtered by glob ``patterns`` (keys always kept)."""
    keys = _key_columns(spec)
    if not aggregated:
        columns = list(dict.fromkeys(k for r in rows for k in r if k not in keys))
        return pd.DataFrame([{k: r.get(k) for k in keys + select(columns, patterns)} for r in rows],
                            columns=keys + select(columns, patterns))
    flat = []
    for a in aggregate(rows, spec):
        columns = [k for k in a if k not in ("cell", "n", *spec.grid)]
        f = {"cell": a["cell"], **{k: a[k] for k in spec.grid}, "n": a["n"]}
        for col in select(columns, patterns):
            v = a[col]
            if "counts" in v:
                f[f"{col}.held"], f[f"{col}.n"] = v["counts"].get("held", 0), v["n"]
            else:
                f.update({f"{col}.{s}": v[s] for s in ("mean", "sd", "ci95", "n")})
        flat.append(f)
    return pd.DataFrame(flat)
