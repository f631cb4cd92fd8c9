"""What a sweep worker runs: one unit of work — a task, or a group of tasks trained as replicas.

A unit is a plain dict (picklable by every engine): ``{"preset", "quick", "threads", "out", "tasks":
[{"cell", "seed", "overrides", "out"}, ...], "replicas": bool}``. Each task is run by
:func:`~dlscope.experiments.run_preset` into its own folder, holding an exclusive lock
(``OUT/.locks/<cell>@seed<s>.lock``, ``fcntl.flock``: released by the kernel when its holder dies)
so that two workers never run the same task at once — not even a task a killed driver's orphaned
job is still finishing (SLURM and submitit's local jobs outlive their driver): the second waits,
then finds the task finished. The lock file holds the holder's pid and host (the kill tests read it). The executors give every
worker its environment (``OMP_WAIT_POLICY=PASSIVE``, the thread count) before torch loads.

With ``replicas``, the tasks' nets are first trained together (:mod:`.plans`,
:func:`~dlscope.train.fit_replicas`), then each task's preset runs and finds them trained.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path

import torch

from ..experiments import run_preset
from .plans import train_group

__all__ = ["run_unit", "lock_path"]


def lock_path(sweep_out: str | Path, cell: str, seed: int) -> Path:
    return Path(sweep_out) / ".locks" / f"{cell}@seed{seed}.lock"


@contextlib.contextmanager
def _locked(paths: list[Path]):
    """Hold exclusive locks on ``paths`` (taken in sorted order, so two holders never deadlock)."""
    files = []
    try:
        for p in sorted(paths):
            p.parent.mkdir(parents=True, exist_ok=True)
            f = open(p, "a+")
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            f.truncate()
            f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}))
            f.flush()
            files.append(f)
        yield
    finally:
        for f in files:
            f.close()  # closing releases the lock


def run_unit(unit: dict) -> dict:
    """Run the unit's tasks (skipping finished ones); returns {"tasks", "pid", "host", "wall_s", "notes"}."""
    t0 = time.perf_counter()
    torch.set_num_threads(int(unit["threads"]))
    tasks = unit["tasks"]
    notes: list = []
    with _locked([lock_path(unit["out"], t["cell"], t["seed"]) for t in tasks]):
        if unit.get("replicas") and len(tasks) > 1:
            notes += train_group(unit["preset"], unit["quick"], tasks)
        for t in tasks:
            run_preset(unit["preset"], overrides=t["overrides"], quick=unit["quick"], out=t["out"])
    return {"tasks": [f"{t['cell']} seed {t['seed']}" for t in tasks], "pid": os.getpid(),
            "host": socket.gethostname(), "wall_s": time.perf_counter() - t0, "notes": notes}
