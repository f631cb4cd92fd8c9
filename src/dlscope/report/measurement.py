"""The report of a measurement session (``dlscope measure``): Markdown and self-contained HTML.

A measurement summary (plain dict, ``"kind": "measurement"``) holds ``model``, ``data``,
``measures`` (one entry per quantity: value, stderr, seed, settings, status ``measured`` /
``refused`` with its reason / ``failed``), optionally ``weight_spectra`` and ``per_layer`` rows,
``figures`` with ``captions``, and ``wall_time_s``. The page: what was measured on what, the
values table, the per-layer tables, the figures with captions, each measure's settings, then
the configuration and the environment.
"""
from __future__ import annotations

import html
from pathlib import Path

from .format import fmt
from .html import _CSS, _table, figures_html
from .markdown import table_markdown

__all__ = ["measurement_markdown", "measurement_html", "MEASURE_COLORS"]

MEASURE_COLORS = {"measured": "#1a7f37", "refused": "#9a6700", "failed": "#cf222e"}
_SPECTRA_KEYS = {"name": "layer", "kind": "kind", "alpha": "α", "alpha_stderr": "± α", "x_min": "x_min",
                 "ks_distance": "KS D", "n_tail": "tail n", "stable_rank": "stable rank",
                 "spectral_norm": "σ_max", "lambda_plus": "MP λ₊", "num_spikes": "λ > λ₊", "mp_ks": "MP KS",
                 "method": "method"}
_LAYER_KEYS = {"layer": "layer", "params": "parameters", "lambda_max": "λ_max(H_ll)", "lambda_max_err": "± λ",
               "trace": "tr(H_ll)", "trace_stderr": "± tr", "op_norm": "‖A‖_σ", "fro_norm": "‖W‖_F",
               "method": "method"}


def _value_rows(summary: dict) -> list[dict]:
    rows = []
    for e in summary.get("measures", []):
        rows.append({"measure": e["measure"], "quantity": e["quantity"], "value": e.get("value"),
                     "± stderr": e.get("stderr"), "seed": e.get("seed"), "status": e["status"],
                     "note": e.get("reason", "")})
    return rows


def _renamed(rows: list[dict], keys: dict) -> list[dict]:
    return [{new: r.get(old) for old, new in keys.items()} for r in rows]


def _intro(summary: dict) -> list[tuple[str, str]]:
    m, d = summary.get("model", {}), summary.get("data", {})
    return [("model", f"{m.get('source', '')} ({m.get('class', '')}, {m.get('num_params', '?')} parameters)"),
            ("weights", str(m.get("weights", "as constructed (no weights file)"))),
            ("data", f"{d.get('source', '')}, split {d.get('split', '')}, n = {d.get('n', '')}"
                     + ("" if d.get("matches_training_data") in (None, True) else
                        " — differs from the data the run recorded (hash mismatch)")),
            ("loss", str(summary.get("loss", ""))), ("seed", str(summary.get("seed", "")))]


def measurement_markdown(summary: dict, config: dict | None = None, env: dict | None = None) -> str:
    md = [f"# {summary.get('title', 'Measurements')}", ""]
    md += [f"- **{k}**: {v}" for k, v in _intro(summary)] + ["", "## Values", "", table_markdown(_value_rows(summary)), ""]
    if summary.get("weight_spectra"):
        md += ["## Weight spectra", "", table_markdown(_renamed(summary["weight_spectra"], _SPECTRA_KEYS)), ""]
    if summary.get("per_layer"):
        md += ["## Per layer", "", table_markdown(_renamed(summary["per_layer"], _LAYER_KEYS)), ""]
    captions = summary.get("captions", {})
    for f in summary.get("figures", []):
        md += [f"![{captions.get(f, f)}]({f})", "", captions.get(f, ""), ""]
    md += ["## Settings", ""]
    md += [f"- **{e['measure']}** ({e['quantity']}): {fmt(e.get('settings', {}))}" for e in summary.get("measures", [])]
    if config is not None:
        md += ["", "## Configuration", "", "```", *(f"{k} = {v}" for k, v in config.items()), "```"]
    if env is not None:
        md += ["", "## Environment", "", "; ".join(f"{k}: {v}" for k, v in env.items())]
    if summary.get("wall_time_s") is not None:
        md += ["", f"Wall time: {summary['wall_time_s']:.1f} s."]
    return "\n".join(md) + "\n"


def _badged(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        st = r["status"]
        badge = (f'<span class="status" style="background:{MEASURE_COLORS.get(st, "#57606a")}">{html.escape(st)}</span>'
                 + (f"<br><small>{html.escape(r['note'])}</small>" if r.get("note") else ""))
        out.append({**{k: v for k, v in r.items() if k != "note"}, "status": badge})
    return out


def measurement_html(summary: dict, out: Path, config: dict | None = None, env: dict | None = None) -> str:
    esc = html.escape
    intro = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in _intro(summary))
    parts = [f"<h1>{esc(summary.get('title', 'Measurements'))}</h1><ul>{intro}</ul>", "<h2>Values</h2>",
             _table(_badged(_value_rows(summary)), ["measure", "quantity", "value", "± stderr", "seed", "status"],
                    "measures")]
    if summary.get("weight_spectra"):
        parts += ["<h2>Weight spectra</h2>", _table(_renamed(summary["weight_spectra"], _SPECTRA_KEYS),
                                                    list(_SPECTRA_KEYS.values()), "spectra")]
    if summary.get("per_layer"):
        parts += ["<h2>Per layer</h2>", _table(_renamed(summary["per_layer"], _LAYER_KEYS), list(_LAYER_KEYS.values()),
                                               "layers")]
    parts += figures_html(summary, out)
    parts.append("<h2>Settings</h2>")
    parts += [f"<details><summary>{esc(e['measure'])}: {esc(e['quantity'])}</summary><pre>"
              + esc("\n".join(f"{k} = {fmt(v)}" for k, v in e.get("settings", {}).items())) + "</pre></details>"
              for e in summary.get("measures", [])]
    if config is not None:
        parts += ["<h2>Configuration</h2>", "<pre>" + esc("\n".join(f"{k} = {v}" for k, v in config.items())) + "</pre>"]
    if env is not None:
        parts += ["<h2>Environment</h2>", _table([env], list(env))]
    if summary.get("wall_time_s") is not None:
        parts.append(f"<p>Wall time: {summary['wall_time_s']:.1f} s.</p>")
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(summary.get("title", ""))}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
