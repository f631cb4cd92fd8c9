"""Sweeps: a preset over a grid of values × seeds, on a local process pool, Ray or SLURM (submitit).

    spec = SweepSpec("zhang2017-random-labels", quick=True, overrides={}, grid={"lr": [0.01, 0.02]}, seeds=(0, 1, 2))
    status = run_sweep(spec, "sweeps/zr", make_executor("local", workers=2))   # a rerun resumes
    rows = table_rows("sweeps/zr"); cells = aggregate(rows, spec)     # one row per cell × seed; mean ± sd, 95 % CI

The map:

* :mod:`.grid` — the spec, its tasks (one preset run per cell × seed), what is finished;
* :mod:`.executors` — the local process pool and the interface every engine has; :mod:`.on_ray`
  (``pip install dlscope[ray]``) and :mod:`.on_slurm` (``dlscope[slurm]``: submitit; its local mode
  for tests) — imported only when used (:func:`make_executor`);
* :mod:`.driver` — submit, resubmit what a lost worker dropped, record failures;
* :mod:`.worker` — what a worker runs (a per-task lock: never two runs of one task at once);
* :mod:`.plans` — seeds (and η, momentum, weight decay) as a batch dimension: tasks trained as
  vmapped replicas (zhang2017-random-labels, keskar2017-large-batch);
* :mod:`.table` — the results table (per cell × seed; aggregated with sd and 95 % CI);
* :mod:`.report` — the sweep's HTML/Markdown page with error-bar figures;
* :mod:`.cli_args`, :mod:`.commands` — ``dlscope sweep | table | report``.

Importing this package is cheap: its names load on first use (``dlscope --help`` reads :mod:`.cli_args`).
"""
from __future__ import annotations

import importlib
from pathlib import Path

_NAMES = {
    "SweepSpec": "grid", "Task": "grid", "parse_grid": "grid", "parse_seeds": "grid", "load_spec": "grid",
    "cell_name": "grid", "run_sweep": "driver", "groups": "driver", "unit": "driver", "LocalExecutor": "executors",
    "cores": "executors", "size_workers": "executors", "worker_env": "executors", "run_unit": "worker",
    "lock_path": "worker", "PLANS": "plans", "REPLICA_KEYS": "plans", "HEADLINE": "plans", "plan": "plans",
    "table_rows": "table", "aggregate": "table", "frame": "table", "missing_tasks": "table",
    "write_sweep_report": "report", "sweep_page": "report",
}
__all__ = sorted(_NAMES) + ["make_executor"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_executor(name: str, *, workers: int | None = None, threads: int | None = None, address: str | None = None,
                  folder: str | Path = ".submitit", partition: str | None = None, time_min: int = 24 * 60):
    """An executor by name: ``local`` (process pool), ``ray`` (``address`` or a local cluster), ``slurm`` or
    ``slurm-local`` (submitit; logs in ``folder``). Ray and submitit are imported here, when asked for."""
    if name == "local":
        from .executors import LocalExecutor

        return LocalExecutor(workers, threads)
    if name == "ray":
        from .on_ray import RayExecutor

        return RayExecutor(address, workers, threads)
    if name in ("slurm", "slurm-local"):
        from .on_slurm import SubmititExecutor

        return SubmititExecutor(folder, cluster="local" if name == "slurm-local" else "slurm", workers=workers,
                                threads=threads, partition=partition, time_min=time_min)
    raise ValueError(f"unknown executor {name!r}; choose local, ray, slurm or slurm-local")
