"""The report of a preset run: ``report.md`` and a self-contained ``report.html`` (figures inlined)."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ..train.rundir import atomic_write_text

__all__ = ["write_report", "claims_markdown", "table_markdown"]


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def claims_markdown(claims: list[dict]) -> str:
    rows = ["| held | claim | source | expected | measured |", "|---|---|---|---|---|"]
    for c in claims:
        rows.append(f"| {'✅ yes' if c['held'] else '❌ no'} | {c['claim']} | {c['source']} | "
                    f"{_fmt(c['expected'])} | {_fmt(c['measured'])} |")
    return "\n".join(rows)


def table_markdown(table: list[dict]) -> str:
    if not table:
        return ""
    keys = list(dict.fromkeys(k for row in table for k in row))
    rows = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    rows += ["| " + " | ".join(_fmt(r.get(k, "")) for k in keys) + " |" for r in table]
    return "\n".join(rows)


def write_report(out: Path, summary: dict) -> None:
    out = Path(out)
    claims = summary.get("claims", [])
    held = sum(c["held"] for c in claims)
    md = [f"# {summary.get('title', summary.get('preset'))}", "",
          f"Preset `{summary.get('preset')}`{' (--quick)' if summary.get('quick') else ''}; "
          f"data: {summary.get('dataset', '')}. Claims held: {held}/{len(claims)}.", "",
          "## Claims", "", claims_markdown(claims), "", "## Results", "", table_markdown(summary.get("table", [])), ""]
    for f in summary.get("figures", []):
        md += [f"![{f}]({f})", ""]
    atomic_write_text(out / "report.md", "\n".join(md))
    imgs = []
    for f in summary.get("figures", []):
        data = base64.b64encode((out / f).read_bytes()).decode()
        imgs.append(f'<figure><img src="data:image/png;base64,{data}" style="max-width:100%"><figcaption>'
                    f'{html.escape(f)}</figcaption></figure>')

    def table_html(rows, keys):
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k, '')))}</td>" for k in keys) + "</tr>"
                       for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    crow = [{"held": "✅ yes" if c["held"] else "❌ no", **{k: c[k] for k in ("claim", "source", "expected", "measured")}}
            for c in claims]
    table = summary.get("table", [])
    keys = list(dict.fromkeys(k for row in table for k in row))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(summary.get('preset', ''))}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse;font-size:90%}}
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}</style></head><body>
<h1>{html.escape(summary.get('title', ''))}</h1><p>{html.escape(md[2])}</p>
<h2>Claims</h2>{table_html(crow, ['held', 'claim', 'source', 'expected', 'measured'])}
<h2>Results</h2>{table_html(table, keys)}<h2>Figures</h2>{''.join(imgs)}</body></html>"""
    atomic_write_text(out / "report.html", page)
