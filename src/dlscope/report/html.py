"""The self-contained HTML report of a preset run (``report.html``, figures inlined).

Status is shown in words and colour (not emoji: they render as empty boxes where no emoji font
exists); wide tables scroll inside their box; every figure has a caption; the page ends with
the configuration, the environment and the wall time.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from .format import STATUS_COLORS, fmt, status_of
from .markdown import summary_line

__all__ = ["report_html", "figures_html"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#1f2328}
table{border-collapse:collapse;font-size:90%;width:100%}td,th{border:1px solid #d0d7de;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f6f8fa}.scroll{overflow-x:auto;max-width:100%}
.status{font-weight:bold;white-space:nowrap;color:#fff;padding:1px 6px;border-radius:4px}
figure{margin:1.5em 0}figcaption{color:#57606a;font-size:90%}img{max-width:100%}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:85%}.claims td:nth-child(5){max-width:28em}"""


def _table(rows: list[dict], keys: list[str], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{r.get(k, '') if k == 'status' else html.escape(fmt(r.get(k, '')))}</td>"
                                    for k in keys) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="{cls}"><tr>{head}</tr>{body}</table></div>'


def _claim_rows(claims: list[dict]) -> list[dict]:
    out = []
    for c in claims:
        st = status_of(c)
        badge = f'<span class="status" style="background:{STATUS_COLORS.get(st, "#57606a")}">{html.escape(st)}</span>'
        if c.get("reason"):
            badge += f"<br><small>{html.escape(c['reason'])}</small>"
        out.append({"status": badge, **{k: c.get(k) for k in ("claim", "source", "expected", "measured")}})
    return out


def report_html(summary: dict, out: Path, config: dict | None = None, env: dict | None = None) -> str:
    claims = summary.get("claims", [])
    lit = [c for c in claims if c.get("kind", "claim") == "claim"]
    ctrl = [c for c in claims if c.get("kind") == "control"]
    keys5 = ["status", "claim", "source", "expected", "measured"]
    parts = [f"<h1>{html.escape(summary.get('title', ''))}</h1>",
             f"<p>Preset <code>{html.escape(str(summary.get('preset', '')))}</code>"
             f"{' (--quick)' if summary.get('quick') else ''}; data: {html.escape(str(summary.get('dataset', '')))}. "
             f"<b>{html.escape(summary_line(summary))}</b></p>",
             "<h2>Claims</h2>", _table(_claim_rows(lit), keys5, "claims")]
    if ctrl:
        parts += ["<h2>Controls</h2><p>Checks of the experiment itself; not counted as claims.</p>",
                  _table(_claim_rows(ctrl), keys5, "claims")]
    table = summary.get("table", [])
    if table:
        parts += ["<h2>Results</h2>", _table(table, list(dict.fromkeys(k for row in table for k in row)))]
    parts += figures_html(summary, out)
    if config is not None:
        parts += ["<h2>Configuration</h2>", "<pre>" + html.escape("\n".join(
            f"{k} = {v}" for k, v in config.get("config", {}).items())) + "</pre>"]
    if env is not None:
        parts += ["<h2>Environment</h2>", _table([env], list(env))]
    if summary.get("wall_time_s") is not None:
        parts.append(f"<p>Wall time: {summary['wall_time_s']:.1f} s.</p>")
    title = html.escape(str(summary.get("preset", "")))
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><style>{_CSS}</style></head>'
            f"<body>{''.join(parts)}</body></html>")


def figures_html(summary: dict, out) -> list[str]:
    """The "Figures" section: each PNG of ``summary["figures"]`` (paths under ``out``) inlined with its caption."""
    captions, figures = summary.get("captions", {}), summary.get("figures", [])
    parts = ["<h2>Figures</h2>"] if figures else []
    for f in figures:
        data = base64.b64encode((Path(out) / f).read_bytes()).decode()
        cap = html.escape(captions.get(f, f))
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{cap}"><figcaption>{cap}</figcaption></figure>')
    return parts
