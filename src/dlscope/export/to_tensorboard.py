"""TensorBoard event files from dlscope run directories (``dlscope export PATH --to tensorboard``).

One event folder per training run, at its path relative to the exported folder (a sweep's runs line
up by cell and seed): every column of ``metrics.jsonl`` as a scalar against the step (non-finite
values, stored as "nan"/"inf", are written as such); the configuration as hparams (HParams plugin)
with the final metrics as their metrics (``final/<name>``, also logged as scalars so the plugin finds
them); the preset's claims (status, claim, measured) and the configuration as text. Written with
``torch.utils.tensorboard`` (needs the ``tensorboard`` package: ``pip install dlscope[tensorboard]``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from .runs import ExportError, ExportRun, find_runs

__all__ = ["export_tensorboard"]


def _number(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def _claims_text(claims: list) -> str:
    rows = ["| status | claim | measured |", "|---|---|---|"]
    for c in claims:
        kind = " (control)" if c.get("kind") == "control" else ""
        reason = f" ({c['reason']})" if c.get("reason") else ""
        rows.append(f"| {c.get('status')}{reason} | {c.get('claim')}{kind} | {json.dumps(c.get('measured'))[:400]} |")
    return "\n".join(rows)


def _write(run: ExportRun, folder: Path) -> None:
    w = SummaryWriter(log_dir=str(folder))
    try:
        for row in run.metrics:
            for k, v in row.items():
                if k != "step" and _number(v) is not None:
                    w.add_scalar(k, _number(v), int(row["step"]))
        final = {f"final/{k}": _number(v) for k, v in run.final.items() if _number(v) is not None and k != "step"}
        final = {k: v for k, v in final.items() if math.isfinite(v)}
        hp = {k: ("none" if v is None else v) for k, v in run.hparams.items()}
        for summary in hparams(hp, final):
            w.file_writer.add_summary(summary)
        for k, v in final.items():
            w.add_scalar(k, v)
        if run.claims:
            w.add_text("claims", _claims_text(run.claims))
        w.add_text("config", "\n".join(f"    {k} = {v}" for k, v in run.hparams.items()))
    finally:
        w.close()


def export_tensorboard(path: str | Path, out: str | Path | None = None) -> tuple[Path, int]:
    """Write event files for every training run under ``path`` into ``out`` (default ``path/tensorboard``);
    returns (out, number of runs). An ``out`` that exists and is not empty is refused (events would mix)."""
    runs = find_runs(path)
    out = Path(out) if out is not None else Path(path) / "tensorboard"
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty; remove it or choose another --out")
    for run in runs:
        _write(run, out / run.name)
    return out, len(runs)
