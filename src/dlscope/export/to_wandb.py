"""Weights & Biases runs in offline mode from dlscope run directories (``dlscope export PATH --to wandb``).

One W&B run per training run, named by its path relative to the exported folder and grouped by the
preset run it belongs to: the configuration as its config, every ``metrics.jsonl`` row logged at its
step, the final metrics and each claim's status in its summary, the claims as a table. Offline mode
writes ``<out>/wandb/offline-run-*`` and contacts no server; ``wandb sync <out>/wandb/offline-run-*``
uploads them later. Needs the ``wandb`` package (``pip install dlscope[wandb]``).
"""
from __future__ import annotations

import json
from pathlib import Path

import wandb

from .runs import ExportError, ExportRun, find_runs

__all__ = ["export_wandb"]


def _log(run: ExportRun, out: Path, project: str) -> None:
    w = wandb.init(mode="offline", dir=str(out), project=project, name=run.name, group=run.group,
                   config=run.hparams, reinit="create_new")
    try:
        for row in run.metrics:
            w.log({k: v for k, v in row.items() if k != "step"}, step=int(row["step"]))
        w.summary.update({f"final/{k}": v for k, v in run.final.items()})
        w.summary.update({f"claim/{c['key']}": c.get("status") for c in run.claims})
        if run.claims:
            w.log({"claims": wandb.Table(columns=["key", "status", "claim", "measured"],
                                         data=[[c["key"], c.get("status"), c.get("claim"), json.dumps(c.get("measured"))]
                                               for c in run.claims])})
    finally:
        w.finish()


def export_wandb(path: str | Path, out: str | Path | None = None, project: str = "dlscope") -> tuple[Path, int]:
    """Write offline W&B runs for every training run under ``path`` into ``out/wandb`` (default
    ``path/wandb-export``); returns (the ``wandb`` folder, number of runs)."""
    runs = find_runs(path)
    out = Path(out) if out is not None else Path(path) / "wandb-export"
    if (out / "wandb").exists() and any((out / "wandb").iterdir()):
        raise ExportError(f"{out / 'wandb'} exists and is not empty; remove it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    for run in runs:
        _log(run, out, project)
    return out / "wandb", len(runs)
