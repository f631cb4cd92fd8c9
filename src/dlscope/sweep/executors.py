"""Where a sweep's tasks run: engines behind one small interface (the ``concurrent.futures`` shape).

An executor has ``submit(fn, *args) -> Future``, ``lost(exc) -> bool`` (did the task die with its
worker — killed, preempted, node lost — rather than raise?) and ``shutdown()``. The engine places the
work; dlscope's run directories decide what is finished, so a lost task is simply submitted again
and resumes from its checkpoints.

* :class:`LocalExecutor` — a ``ProcessPoolExecutor`` (spawned processes) on this machine. Sized so
  workers × torch threads ≤ cores; every worker starts with ``OMP_WAIT_POLICY=PASSIVE`` (unless set)
  and ``DLSCOPE_THREADS``/``OMP_NUM_THREADS`` in its environment before it imports torch, and dies
  with the process that started it (Linux ``PR_SET_PDEATHSIG``), so a killed driver leaves no worker
  behind. A worker killed mid-task breaks the pool (``BrokenProcessPool`` for every task in flight);
  the next submit starts a fresh pool.
* Ray (``dlscope.sweep.on_ray``) and SLURM through submitit (``dlscope.sweep.on_slurm``): optional
  extras, imported only when asked for.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Callable

__all__ = ["LocalExecutor", "worker_env", "size_workers", "cores", "default_threads", "environment"]

_PR_SET_PDEATHSIG = 1


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def size_workers(workers: int | None, threads: int | None, available: int | None = None) -> tuple[int, int]:
    """(workers, torch threads per worker) with workers × threads ≤ cores; a request that cannot fit
    raises a one-line ValueError. Defaults: threads = $DLSCOPE_THREADS or 1, workers = cores // threads."""
    available = available or cores()
    threads = default_threads() if threads is None else threads
    if threads < 1 or (workers is not None and workers < 1):
        raise ValueError("--workers and DLSCOPE_THREADS must be ≥ 1")
    if workers is None:
        workers = max(1, available // threads)
    if workers * threads > available:
        raise ValueError(f"{workers} workers × {threads} torch thread(s) > {available} cores here; "
                         f"use --workers {max(1, available // threads)} (or fewer threads)")
    return workers, threads


def default_threads() -> int:
    """Torch threads per worker: $DLSCOPE_THREADS, else 1."""
    raw = os.environ.get("DLSCOPE_THREADS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def worker_env(threads: int) -> dict:
    """Environment every worker gets before torch loads: passive OpenMP waiting (a value the user set
    is kept) and the thread count."""
    return {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), "DLSCOPE_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads)}


@contextlib.contextmanager
def environment(env: dict):
    """Set ``env`` in os.environ for the duration (processes started meanwhile inherit it), then restore."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _die_with_parent(parent: int) -> None:
    """Pool initializer: SIGKILL this worker when the process that started it dies (Linux only)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)


class LocalExecutor:
    """A process pool on this machine (see the module docstring)."""

    name = "local"

    def __init__(self, workers: int | None = None, threads: int | None = None):
        self.workers, self.threads = size_workers(workers, threads)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"), initializer=_die_with_parent,
                                   initargs=(os.getpid(),))

    def submit(self, fn: Callable, *args) -> Future:
        # Python ≥ 3.9 spawns pool processes inside submit(): they inherit the environment set here.
        with environment(worker_env(self.threads)):
            if self._pool is None:
                self._pool = self._new_pool()
            try:
                return self._pool.submit(fn, *args)
            except BrokenProcessPool:  # a worker died: its tasks failed as lost; start afresh
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return self._pool.submit(fn, *args)

    def lost(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenProcessPool)

    def shutdown(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None

    def describe(self) -> str:
        return f"local process pool, {self.workers} worker(s) × {self.threads} torch thread(s)"
