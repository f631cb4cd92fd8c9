"""Fixtures of the sweep tests: tiny zhang2017 sweeps (tests/cases.py), their reference tables —
every task run in this process, one after another, with one torch thread as the workers have —
and a watcher that SIGKILLs whichever process is running a cell in the middle of its training."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from cases import SWEEP_KILL, SWEEP_TINY
from dlscope.sweep import SweepSpec, lock_path, run_unit, table_rows, unit

PRESET = "zhang2017-random-labels"


def make_spec(base: dict, grid: dict | None = None, seeds=(0, 1)) -> SweepSpec:
    return SweepSpec(PRESET, True, dict(base), dict(grid or {}), tuple(seeds))


class Sweeps:
    """The specs the sweep tests share, and their uninterrupted tables (computed once a session)."""

    def __init__(self, root: Path):
        self.root, self._tables = root, {}
        self.tiny = make_spec(SWEEP_TINY, {"lr": [0.01, 0.02]})    # 2 cells × 2 seeds
        self.kill = make_spec(SWEEP_KILL, {}, seeds=(0, 1))        # 1 cell × 2 seeds, long enough to kill

    def reference(self, spec: SweepSpec) -> list[dict]:
        key = json.dumps(spec.record(), sort_keys=True)
        if key not in self._tables:
            out = self.root / f"reference{len(self._tables)}"
            spec.write(out)
            for t in spec.tasks(out):
                run_unit(unit(spec, [t], out, threads=1))
            self._tables[key] = table_rows(out, spec)
        return self._tables[key]


@pytest.fixture(scope="session")
def sweeps(tmp_path_factory) -> Sweeps:
    return Sweeps(tmp_path_factory.mktemp("sweeps"))


def mid_cell(out: Path, spec: SweepSpec):
    """(pid, task) of a process now inside a task's training (a checkpoint written, the task not
    finished), read from the task's lock file; None if no task is there yet."""
    for t in spec.tasks(out):
        lock = lock_path(out, t.cell, t.seed)
        if (lock.exists() and not (t.out / "summary.json").exists()
                and any(p.exists() and not (p.parent / "summary.json").exists()
                        for p in (t.out / "runs").glob("*/checkpoint.safetensors"))):
            try:
                return json.loads(lock.read_text())["pid"], t
            except (ValueError, KeyError):  # being written
                return None
    return None


def kill_mid_cell(out: Path, spec: SweepSpec, pid_of=lambda pid: pid, timeout: float = 300.0) -> dict:
    """Wait for a process in the middle of a cell, SIGKILL ``pid_of(its pid)``; returns what was killed
    and whether the cell was indeed unfinished once the process was dead (``mid_cell``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        found = mid_cell(out, spec)
        if found:
            pid, task = found
            victim = pid_of(pid)
            os.kill(victim, signal.SIGKILL)
            gone(pid)
            return {"pid": victim, "worker": pid, "task": task.label,
                    "mid_cell": not (task.out / "summary.json").exists()}
        time.sleep(0.01)
    raise AssertionError(f"no task of {out} reached the middle of its training within {timeout} s")


def gone(pid: int, timeout: float = 30.0) -> bool:
    """Wait until process ``pid`` has exited (reaped or a zombie)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def assert_no_duplicates(out: Path, spec: SweepSpec, events: list | None = None) -> None:
    """Every task finished once: one summary, training runs whose metrics rows have strictly increasing
    steps (a run trained twice into one folder would repeat them), and — given the driver's progress
    events — one "done" per task."""
    for t in spec.tasks(out):
        assert (t.out / "summary.json").exists(), t.label
        for m in (t.out / "runs").glob("*/metrics.jsonl"):
            steps = [json.loads(line)["step"] for line in m.read_text().splitlines()]
            assert steps == sorted(set(steps)), (t.label, steps)
    if events is not None:
        done = [f"{x['cell']} seed {x['seed']}" for e, info in events if e == "done" for x in info["unit"]["tasks"]]
        assert sorted(done) == sorted(t.label for t in spec.tasks(out)), done


for _f in (mid_cell, kill_mid_cell, gone, assert_no_duplicates, staticmethod(make_spec).__func__):
    setattr(Sweeps, _f.__name__, staticmethod(_f))  # the tests reach the helpers through the fixture
