"""Reports: the Markdown and HTML pages of a preset run or of a measurement session, and the figures
(no pyplot, no backend change)."""
from __future__ import annotations

from pathlib import Path

from .._io import atomic_write_text, read_json
from .html import report_html
from .markdown import report_markdown
from .measurement import measurement_html, measurement_markdown

__all__ = ["write_report", "write_measurement_report"]


def write_report(out: Path, summary: dict) -> None:
    """Write ``out/report.md`` and ``out/report.html`` for a preset summary (config and env read from ``out``)."""
    out = Path(out)
    config = read_json(out / "config.json") if (out / "config.json").exists() else None
    env = read_json(out / "env.json") if (out / "env.json").exists() else None
    atomic_write_text(out / "report.md", report_markdown(summary, config, env))
    atomic_write_text(out / "report.html", report_html(summary, out, config, env))


def write_measurement_report(out: Path, summary: dict) -> None:
    """Write ``out/report.md`` and ``out/report.html`` for a measurement summary (``dlscope measure``)."""
    out = Path(out)
    config = read_json(out / "config.json") if (out / "config.json").exists() else None
    env = read_json(out / "env.json") if (out / "env.json").exists() else None
    atomic_write_text(out / "report.md", measurement_markdown(summary, config, env))
    atomic_write_text(out / "report.html", measurement_html(summary, out, config, env))
