"""The Markdown report of a preset run (``report.md``)."""
from __future__ import annotations

from .format import fmt, status_of

__all__ = ["claims_markdown", "table_markdown", "summary_line", "report_markdown"]


def claims_markdown(claims: list[dict]) -> str:
    rows = ["| status | claim | source | expected | measured |", "|---|---|---|---|---|"]
    for c in claims:
        reason = f" ({c['reason']})" if c.get("reason") else ""
        rows.append(f"| **{status_of(c)}**{reason} | {c['claim']} | {c['source']} | {fmt(c['expected'])} | "
                    f"{fmt(c['measured'])} |")
    return "\n".join(rows)


def table_markdown(table: list[dict]) -> str:
    if not table:
        return ""
    keys = list(dict.fromkeys(k for row in table for k in row))
    rows = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    rows += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in table]
    return "\n".join(rows)


def summary_line(summary: dict) -> str:
    claims = summary.get("claims", [])
    lit = [c for c in claims if c.get("kind", "claim") == "claim"]
    ctrl = [c for c in claims if c.get("kind") == "control"]
    held = sum(status_of(c) == "held" for c in lit)
    nev = sum(status_of(c) == "not evaluable" for c in lit)
    line = f"Claims held: {held}/{len(lit)}"
    if nev:
        line += f" ({nev} not evaluable)"
    if ctrl:
        line += f"; controls passed: {sum(status_of(c) == 'held' for c in ctrl)}/{len(ctrl)}"
    line += "."
    if summary.get("diverged"):
        line += f" Runs diverged (their claims are not evaluable): {', '.join(summary['diverged'])}."
    return line


def report_markdown(summary: dict, config: dict | None = None, env: dict | None = None) -> str:
    claims = summary.get("claims", [])
    lit = [c for c in claims if c.get("kind", "claim") == "claim"]
    ctrl = [c for c in claims if c.get("kind") == "control"]
    md = [f"# {summary.get('title', summary.get('preset'))}", "",
          f"Preset `{summary.get('preset')}`{' (--quick)' if summary.get('quick') else ''}; "
          f"data: {summary.get('dataset', '')}. {summary_line(summary)}", "",
          "## Claims", "", claims_markdown(lit), ""]
    if ctrl:
        md += ["## Controls", "", claims_markdown(ctrl), ""]
    md += ["## Results", "", table_markdown(summary.get("table", [])), ""]
    captions = summary.get("captions", {})
    for f in summary.get("figures", []):
        md += [f"![{captions.get(f, f)}]({f})", "", captions.get(f, ""), ""]
    if config is not None:
        md += ["## Configuration", "", "```", *(f"{k} = {v}" for k, v in config.get("config", {}).items()), "```", ""]
    if env is not None:
        md += ["## Environment", "", "; ".join(f"{k}: {v}" for k, v in env.items()), ""]
    return "\n".join(md)
