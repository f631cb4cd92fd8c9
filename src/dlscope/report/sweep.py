"""The page of a sweep (``dlscope report SWEEP``) and its tables (``dlscope table --format md``).

A sweep page (a plain dict, built by :mod:`dlscope.sweep.report`) holds the sweep's record, its
status, per-cell claims (each claim's status counted over seeds, and the spread of the numbers it
measured), the aggregated results (mean ± sd [95 % CI of the mean] over seeds), the per-seed rows,
figures with captions and links to every task's own report. Spreads are formatted by
:func:`spread_text`: "0.912 ± 0.011 [0.884, 0.94]" (mean ± sample sd [mean ∓ t₀.₉₇₅,ₙ₋₁ sd/√n]),
"0.9 (n = 1)" for one seed, and claims as "held 3/3" or "held 2/3; not held 1/3".
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from .format import STATUS_COLORS, fmt
from .html import _CSS, _table
from .markdown import table_markdown

__all__ = ["spread_text", "aggregate_markdown", "rows_markdown", "sweep_markdown", "sweep_html"]

_ORDER = ("held", "not held", "not evaluable", "missing")


def spread_text(v) -> str:
    """A cell of the aggregated table in words (see the module docstring)."""
    if not isinstance(v, dict):
        return fmt(v)
    if "counts" in v:
        return "; ".join(f"{s} {v['counts'][s]}/{v['n']}" for s in _ORDER if v["counts"].get(s))
    if v.get("mean") is None:
        return "—"
    if v.get("sd") is None:
        return f"{fmt(v['mean'])} (n = {v['n']})"
    lo, hi = v["mean"] - v["ci95"], v["mean"] + v["ci95"]
    return f"{fmt(v['mean'])} ± {fmt(v['sd'])} [{fmt(lo)}, {fmt(hi)}]"


def _agg_rows(cells: list[dict], keys: list[str], columns: list[str]) -> list[dict]:
    return [{**{k: c.get(k) for k in keys}, "seeds": c["n"], **{col: spread_text(c.get(col)) for col in columns}}
            for c in cells]


def aggregate_markdown(cells: list[dict], keys: list[str], columns: list[str]) -> str:
    return table_markdown(_agg_rows(cells, keys, columns))


def rows_markdown(rows: list[dict], keys: list[str], columns: list[str]) -> str:
    return table_markdown([{k: r.get(k) for k in keys + columns} for r in rows])


def _intro(page: dict) -> list[str]:
    st, spec = page.get("status") or {}, page["spec"]
    grid = "; ".join(f"{k} ∈ {{{', '.join(map(str, v))}}}" for k, v in spec["grid"].items()) or "no grid"
    lines = [f"Preset `{spec['preset']}`{' (--quick)' if spec['quick'] else ''}; grid: {grid}; "
             f"seeds {spec['seeds']}; overrides: {_overrides(spec['set'])}.",
             f"Tasks finished: {page['finished']}/{page['tasks']}" + (f" (executor: {st['executor']})" if st else "") + "."]
    if page["missing"]:
        lines.append(f"Not finished (not in the tables): {', '.join(page['missing'])}.")
    for f in (st.get("failed") or []):
        lines.append(f"Failed: {', '.join(f['tasks'])}: {f['error']}")
    return lines


def sweep_markdown(page: dict) -> str:
    keys, cols = page["keys"], [c for c in page["columns"] if not c.startswith("claim:")]
    md = [f"# {page['title']}", "", *_intro(page), "", "## Claims per cell (over seeds)", "",
          aggregate_markdown(page["claims"], keys, page["claim_columns"]), "",
          "## Results: mean ± sd [95 % CI of the mean] over seeds", "", aggregate_markdown(page["cells"], keys, cols), ""]
    for f in page["figures"]:
        md += [f"![{page['captions'][f]}]({f})", "", page["captions"][f], ""]
    md += ["## Per seed", "", rows_markdown(page["rows"], keys + ["seed"], cols), "",
           "## Claims", "", *(f"- `{k}`: {t}" for k, t in page["claim_texts"].items())]
    return "\n".join(md) + "\n"


def _badge(v) -> str:
    if not isinstance(v, dict) or "counts" not in v:
        return html.escape(spread_text(v))
    top = max(v["counts"], key=v["counts"].get)
    color = STATUS_COLORS.get(top, "#57606a")
    return f'<span class="status" style="background:{color}">{html.escape(spread_text(v))}</span>'


def sweep_html(page: dict, out: Path) -> str:
    esc = html.escape
    keys, cols = page["keys"], [c for c in page["columns"] if not c.startswith("claim:")]
    claim_rows = [{**{k: esc(fmt(c.get(k))) for k in keys}, "seeds": c["n"],
                   **{col: _badge(c.get(col)) + "".join(f"<br><small>{esc(m)}: {esc(spread_text(c.get(m)))}</small>"
                                                      for m in page["claim_numbers"].get(col, []))
                      for col in page["claim_columns"]}} for c in page["claims"]]
    head = keys + ["seeds"] + page["claim_columns"]
    claims_html = ('<div class="scroll"><table class="claims"><tr>' + "".join(f"<th>{esc(h)}</th>" for h in head)
                   + "</tr>" + "".join("<tr>" + "".join(f"<td>{r[h]}</td>" for h in head) + "</tr>" for r in claim_rows)
                   + "</table></div>")
    parts = [f"<h1>{esc(page['title'])}</h1>", *(f"<p>{esc(line)}</p>" for line in _intro(page)),
             "<h2>Claims per cell, over seeds</h2>",
             "<p>Each claim's status counted over the seeds of the cell, and the numbers it measured "
             "(mean ± sd [95 % CI of the mean]).</p>", claims_html,
             "<h2>Results: mean ± sd [95 % CI of the mean] over seeds</h2>",
             _table(_agg_rows(page["cells"], keys, cols), keys + ["seeds"] + cols)]
    if page["figures"]:
        parts.append("<h2>Figures</h2>")
    for f in page["figures"]:
        data = base64.b64encode((Path(out) / f).read_bytes()).decode()
        cap = page["captions"][f]
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(cap)}"><figcaption>{esc(cap)}'
                     "</figcaption></figure>")
    parts += ["<h2>Per seed</h2><details><summary>one row per cell × seed</summary>",
              _table(page["rows"], keys + ["seed"] + cols), "</details>", "<h2>Claims checked</h2><ul>",
              *(f"<li><code>{esc(k)}</code>: {esc(t)}</li>" for k, t in page["claim_texts"].items()), "</ul>",
              "<h2>Each task's report</h2><p>" + " · ".join(
                  f'<a href="{esc(link)}">{esc(label)}</a>' for label, link in page["links"]) + "</p>",
              "<h2>Sweep</h2><pre>" + esc("\n".join(f"{k} = {fmt(v)}" for k, v in page["spec"].items())) + "</pre>"]
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(page["title"])}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")


def _overrides(values: dict) -> str:
    """The --set values as the user wrote them (a list stays a list: fmt would read two numbers as mean ± sd)."""
    if not values:
        return "none"
    return "; ".join(f"{k} = {', '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in values.items())
