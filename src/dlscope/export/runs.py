"""What an export reads: every training run under a path, with its config, metrics and the claims of
the preset run it belongs to — from a training run folder, a preset run folder or a sweep folder.

* a training run (``config.json`` + ``metrics.jsonl``, :mod:`dlscope.train.rundir`): itself;
* a preset run (``summary.json`` with ``claims``, nets under ``runs/``): each net, the preset's
  configuration merged into every net's hyperparameters, its claims attached;
* a sweep (``sweep.json``, tasks under ``cells/<cell>/seed<s>/``): every task as a preset run.

Nothing is written here; names are paths relative to the exported folder (``cells/lr=0.01/seed0/runs/
true_labels_seed0``), so the runs of a sweep line up by cell and seed in TensorBoard or W&B.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .._io import read_json
from ..train import RunDir

__all__ = ["ExportRun", "find_runs", "flatten", "ExportError"]


class ExportError(ValueError):
    """A path that holds nothing to export; one line for the user."""


@dataclasses.dataclass
class ExportRun:
    name: str                 # path relative to the exported folder ("." for the folder itself)
    path: Path
    hparams: dict             # flat scalars: the run's config (train.lr, …) and its preset's (preset.lr, …)
    metrics: list             # metrics.jsonl rows
    final: dict               # summary.json "final" (empty while unfinished)
    claims: list              # the claims of the preset run it belongs to ([] for a bare training run)
    group: str                # the preset run it belongs to (its relative path), or its own name


def flatten(d: dict, prefix: str = "") -> dict:
    """Nested dicts → {"a.b": scalar}; lists and tuples → their text (hyperparameters are scalars)."""
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = ",".join(map(str, v))
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[key] = v
    return out


def _training_run(root: Path, path: Path, preset_hparams: dict, claims: list, group: str) -> ExportRun:
    rd = RunDir(path)
    summary = read_json(rd.summary) if rd.summary.exists() else {}
    name = str(path.relative_to(root)) if path != root else "."
    return ExportRun(name, path, {**preset_hparams, **flatten(read_json(rd.config))}, rd.read_metrics(),
                     summary.get("final", {}), claims, group)


def _preset_runs(root: Path, path: Path) -> list[ExportRun]:
    summary = read_json(path / "summary.json") if (path / "summary.json").exists() else {}
    config = read_json(path / "config.json") if (path / "config.json").exists() else {}
    hp = flatten(config.get("config", {}), "preset.")
    group = str(path.relative_to(root)) if path != root else "."
    runs = sorted(p for p in (path / "runs").glob("*") if (p / "config.json").exists())
    return [_training_run(root, p, hp, summary.get("claims", []), group) for p in runs]


def find_runs(path: str | Path) -> list[ExportRun]:
    """Every training run under ``path`` (see the module docstring); ExportError if there is none."""
    root = Path(path)
    if not root.is_dir():
        raise ExportError(f"{root} is not a folder")
    if (root / "sweep.json").exists():
        runs = [r for task in sorted((root / "cells").glob("*/seed*")) if (task / "config.json").exists()
                for r in _preset_runs(root, task)]
    elif (root / "runs").is_dir() and (root / "config.json").exists():
        runs = _preset_runs(root, root)
    elif (root / "config.json").exists() and (root / "metrics.jsonl").exists():
        runs = [_training_run(root, root, {}, [], ".")]
    else:
        raise ExportError(f"{root} holds no dlscope run: expected a training run (metrics.jsonl), a preset run "
                          "(runs/) or a sweep (sweep.json)")
    if not runs:
        raise ExportError(f"{root} holds no finished or started training run yet")
    return runs
