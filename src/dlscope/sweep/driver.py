"""``run_sweep``: hand a sweep's unfinished tasks to an executor and wait — no scheduler of our own.

1. Write ``OUT/sweep.json``; expand the grid into tasks (:class:`~.grid.Task`); drop the finished ones
   (``summary.json`` present, config equal).
2. Form units: one task each, or — with ``replicas > 1`` and a plan for the preset — groups of up to
   ``replicas`` tasks that differ only in seed and :data:`~.plans.REPLICA_KEYS`. Groups are formed over
   *all* tasks of the grid, finished or not, so a rerun trains the same groups (a resumed group then
   computes bit for bit what an uninterrupted one would).
3. Submit every unit; the engine places and queues them. A unit whose worker was lost (killed, node
   gone: ``executor.lost``) is submitted again, up to ``retries`` times: it resumes from its run
   directories. A unit that raised is recorded as failed with its one-line message.
4. Write ``OUT/status.json`` (tasks, finished, failed with reasons, resubmissions) and return it.

A rerun of the same sweep is the resume mechanism, on any executor.
"""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path
from typing import Callable, Optional

from .._io import write_json
from ..experiments import ConfigError
from .grid import SweepSpec, Task
from .plans import PLANS, REPLICA_KEYS
from .worker import run_unit

__all__ = ["run_sweep", "groups", "unit"]

Progress = Callable[[str, dict], None]  # (event, info): "submitted", "done", "lost", "failed"


def groups(spec: SweepSpec, tasks: list[Task], replicas: int = 1) -> list[list[Task]]:
    """The tasks of each unit of work: one each, or replica groups (tasks differing only in seed and
    :data:`~.plans.REPLICA_KEYS`, up to ``replicas`` per group, in grid order)."""
    if replicas <= 1:
        return [[t] for t in tasks]
    if spec.preset not in PLANS:
        raise ConfigError(f"--replicas: no replica plan for {spec.preset}; plans exist for {', '.join(sorted(PLANS))}")
    by_key: dict = {}
    for t in tasks:
        by_key.setdefault(tuple((k, repr(v)) for k, v in t.point.items() if k not in REPLICA_KEYS), []).append(t)
    return [g[i : i + replicas] for g in by_key.values() for i in range(0, len(g), replicas)]


def unit(spec: SweepSpec, group: list[Task], out: Path, threads: int) -> dict:
    """A unit of work as the worker reads it (:mod:`.worker`): plain, picklable values."""
    return {"preset": spec.preset, "quick": spec.quick, "threads": threads, "out": str(out), "replicas": len(group) > 1,
            "tasks": [{"cell": t.cell, "seed": t.seed, "overrides": t.overrides, "out": str(t.out)} for t in group]}


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)  # Ray wraps the task's exception
    exc = cause if isinstance(cause, BaseException) else exc
    lines = [s for s in str(exc).strip().splitlines() if s.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}".strip()


def run_sweep(spec: SweepSpec, out: str | Path, executor, *, replicas: int = 1, retries: int = 3,
              progress: Optional[Progress] = None) -> dict:
    """Run (or resume) ``spec`` into ``out`` on ``executor``; returns the status written to ``OUT/status.json``."""
    out = Path(out)
    spec.write(out)
    tasks = spec.tasks(out)
    todo = [unit(spec, g, out, executor.threads) for g in groups(spec, tasks, replicas)
            if not all(t.done(spec.preset, spec.quick) for t in g)]
    emit = progress or (lambda event, info: None)
    t0 = time.perf_counter()
    failed, lost, notes = [], 0, []
    batch = getattr(executor, "submit_all", None)  # SLURM: one job array
    futures = batch([(run_unit, (u,)) for u in todo]) if batch and todo else [executor.submit(run_unit, u) for u in todo]
    pending, attempts = {f: i for i, f in enumerate(futures)}, {i: 1 for i in range(len(todo))}
    for u in todo:
        emit("submitted", {"unit": u})
    try:
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for f in finished:
                i = pending.pop(f)
                u, exc = todo[i], f.exception()
                if exc is None:
                    notes += f.result().get("notes", [])
                    emit("done", {"unit": u, "result": f.result()})
                elif executor.lost(exc) and attempts[i] <= retries:
                    lost += 1
                    attempts[i] += 1
                    emit("lost", {"unit": u, "error": _one_line(exc)})
                    pending[executor.submit(run_unit, u)] = i
                else:
                    failed.append({"tasks": [f"{t['cell']} seed {t['seed']}" for t in u["tasks"]], "error": _one_line(exc)})
                    emit("failed", {"unit": u, "error": _one_line(exc)})
    finally:
        for f in pending:
            f.cancel()
    done = sum(t.done(spec.preset, spec.quick) for t in tasks)
    status = {"tasks": len(tasks), "finished": done, "ran": len(todo), "resubmitted": lost, "failed": failed,
              "notes": notes, "executor": executor.describe(), "wall_s": round(time.perf_counter() - t0, 3)}
    write_json(out / "status.json", status)
    return status
