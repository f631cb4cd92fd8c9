"""``dlscope report SWEEP``: the sweep's page (``OUT/report.html``, ``OUT/report.md``, ``OUT/figures/``).

Built from the finished tasks' summaries only (:mod:`.table`): per cell, each claim counted over
seeds with the spread of the numbers it measured; the chosen columns (``patterns``; by default the
preset's headline columns, :data:`~.plans.HEADLINE`) as mean ± sd [95 % CI]; figures with error bars
(:mod:`dlscope.report.figures.sweep`); the per-seed rows; links to every task's own report.
"""
from __future__ import annotations

from pathlib import Path

from .._io import atomic_write_text, read_json
from ..experiments import get
from ..report.figures import save
from ..report.figures.sweep import errorbar_panels, x_axis
from ..report.sweep import sweep_html, sweep_markdown
from .grid import load_spec
from .plans import HEADLINE
from .table import aggregate, missing_tasks, select, table_rows

__all__ = ["write_sweep_report", "sweep_page", "default_columns"]

_PANELS = 9  # panels per figure


def default_columns(preset: str, columns: list[str]) -> list[str]:
    """The preset's headline columns, else the claims and the first eight numbers."""
    if preset in HEADLINE:
        picked = select(columns, HEADLINE[preset])
        if picked:
            return picked
    return [c for c in columns if c.startswith("claim:")] + [c for c in columns if not c.startswith("claim:")][:8]


def sweep_page(out: str | Path, patterns: list[str] | None = None) -> dict:
    """Everything the page shows, as plain values (no figures yet)."""
    out = Path(out)
    spec = load_spec(out)
    rows, keys = table_rows(out, spec), ["cell", *spec.grid]
    every = list(dict.fromkeys(k for r in rows for k in r if k not in keys + ["seed"]))
    columns = select(every, patterns) if patterns else default_columns(spec.preset, every)
    claim_columns = [c for c in every if c.startswith("claim:")]
    texts: dict = {}
    for t in spec.tasks(out):
        if (t.out / "summary.json").exists() and t.done(spec.preset, spec.quick):
            for c in read_json(t.out / "summary.json").get("claims", []):
                texts.setdefault(c["key"], c["claim"] + (" (control)" if c.get("kind") == "control" else ""))
            break
    status = read_json(out / "status.json") if (out / "status.json").exists() else None
    tasks = spec.tasks(out)
    return {"title": f"Sweep — {get(spec.preset).title}", "spec": spec.record(), "status": status, "tasks": len(tasks),
            "finished": len(rows), "missing": missing_tasks(out, spec), "keys": keys, "columns": columns,
            "rows": rows, "cells": aggregate(rows, spec), "claims": aggregate(rows, spec),
            "claim_columns": claim_columns, "claim_texts": texts,
            "claim_numbers": {c: [m for m in every if m.startswith(c[len("claim:"):] + ".")] for c in claim_columns},
            "links": [(t.label, str(t.out.relative_to(out) / "report.html")) for t in tasks
                      if (t.out / "report.html").exists()],
            "figures": [], "captions": {}}


def write_sweep_report(out: str | Path, patterns: list[str] | None = None) -> Path:
    """Write the sweep's page into ``out``; returns the path of ``report.html``."""
    out = Path(out)
    page = sweep_page(out, patterns)
    grid_keys = list(page["spec"]["grid"])
    x = x_axis(page["cells"], grid_keys) if page["cells"] else None
    panels = [c for c in page["columns"] if not c.startswith("claim:")]
    claims = [c for c in page["columns"] if c.startswith("claim:")]
    chunks = [("claims", claims)] + [(f"results{i // _PANELS + 1}", panels[i : i + _PANELS])
                                     for i in range(0, len(panels), _PANELS)]
    for name, cols in chunks:
        if not cols or not page["cells"]:
            continue
        path = save(errorbar_panels(page["cells"], cols, grid_keys), out / "figures" / f"sweep_{name}.png")
        rel = str(path.relative_to(out))
        page["figures"].append(rel)
        against = f"against {x}" if x else "per cell"
        page["captions"][rel] = (
            f"Claims {against}: the fraction of the seeds where each was evaluable in which it held, with the Wilson "
            "95 % interval (not drawn where it was evaluable in no seed)."
            if name == "claims" else
            f"Results {against}: mean over seeds with the 95 % confidence interval of the mean (error bars, "
            "Student t) and each seed's value (dots)." + (" Lines: the other grid values." if len(grid_keys) > 1 else ""))
    atomic_write_text(out / "report.md", sweep_markdown(page))
    atomic_write_text(out / "report.html", sweep_html(page, out))
    return out / "report.html"
