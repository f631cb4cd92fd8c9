"""SLURM through submitit as a sweep engine (``pip install dlscope[slurm]``); submitit's local mode for tests.

``SubmititExecutor(folder, cluster="slurm", partition=..., time_min=..., workers=N)``: every unit of
work is one submitit job, submitted with ``cpus_per_task = threads``; ``workers`` becomes
``slurm_array_parallelism`` when the driver submits a batch (:meth:`submit_all`: one job array). Logs
and pickles go to ``folder`` (the sweep's ``.submitit/``). Jobs inherit the submitting environment,
set here to ``OMP_WAIT_POLICY=PASSIVE`` and the thread count, plus ``slurm_setup`` lines exporting them.
SLURM jobs outlive a killed driver: a rerun's job for a task still running waits on the task's lock,
then finds it finished (:mod:`.worker`).

``cluster="local"`` runs each job as a process on this machine (submitit's ``LocalExecutor``, which
starts every job at once): here at most ``workers`` jobs run at a time, the rest wait in this
process. A job that ends without a result (killed, timed out, preempted) is reported as lost
(``UncompletedJobError``); one that raised fails with its message.
"""
from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Callable

import submitit
from submitit.core.utils import UncompletedJobError

from .executors import default_threads, environment, size_workers, worker_env

__all__ = ["SubmititExecutor"]


class SubmititExecutor:
    """Jobs through submitit: SLURM (``cluster="slurm"``) or local processes (``cluster="local"``)."""

    name = "slurm"

    def __init__(self, folder: str | Path, *, cluster: str = "slurm", workers: int | None = None,
                 threads: int | None = None, partition: str | None = None, time_min: int = 24 * 60,
                 mem_gb: float | None = None, poll_s: float = 0.5):
        if cluster not in ("slurm", "local"):
            raise ValueError(f"cluster must be slurm or local, got {cluster!r}")
        self.cluster = cluster
        if cluster == "local":
            self.workers, self.threads = size_workers(workers, threads)
        else:
            self.workers, self.threads = workers, threads or default_threads()
        self._ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        params: dict = {"timeout_min": int(time_min), "cpus_per_task": self.threads, "name": "dlscope-sweep"}
        if cluster == "slurm":
            env = worker_env(self.threads)
            params["slurm_setup"] = [f"export {k}={v}" for k, v in env.items()]
            if partition:
                params["slurm_partition"] = partition
            if mem_gb:
                params["mem_gb"] = mem_gb
            if self.workers:
                params["slurm_array_parallelism"] = self.workers
        self._ex.update_parameters(**params)
        self._waiting: collections.deque = collections.deque()  # (future, fn, args) not yet started (local)
        self._running: list = []  # (future, job)
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._poll_s = poll_s
        self._thread = threading.Thread(target=self._poll, name="dlscope-submitit", daemon=True)
        self._thread.start()

    def _start(self, items: list) -> None:
        with environment(worker_env(self.threads)):
            if len(items) > 1 and self.cluster == "slurm":
                with self._ex.batch():  # one job array
                    jobs = [self._ex.submit(fn, *args) for _, fn, args in items]
            else:
                jobs = [self._ex.submit(fn, *args) for _, fn, args in items]
        if self.cluster == "local":  # submitit waits 15 s for a result file that a network filesystem
            for job in jobs:         # may show late; a local job's is there at once or never (killed)
                job._results_timeout_s = 1
        self._running += [(fut, job) for (fut, _, _), job in zip(items, jobs)]

    def submit(self, fn: Callable, *args) -> Future:
        return self.submit_all([(fn, args)])[0]

    def submit_all(self, calls: list) -> list[Future]:
        """Submit ``[(fn, args), ...]`` (a job array on SLURM); one Future per call."""
        items = [(Future(), fn, tuple(args)) for fn, args in calls]
        with self._lock:
            if self.cluster == "local":
                self._waiting.extend(items)
                self._fill()
            else:
                self._start(items)
        return [f for f, _, _ in items]

    def _fill(self) -> None:
        free = (self.workers or 1) - len(self._running)
        if free > 0 and self._waiting:
            self._start([self._waiting.popleft() for _ in range(min(free, len(self._waiting)))])

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_s):
            with self._lock:
                still = []
                for fut, job in self._running:
                    if not job.done():
                        still.append((fut, job))
                    elif not fut.cancelled():
                        try:
                            result = job.result()
                        except Exception as e:  # noqa: BLE001 — the job's outcome, handed to the driver
                            fut.set_exception(e)
                        else:
                            fut.set_result(result)
                self._running = still
                if self.cluster == "local":
                    self._fill()

    def lost(self, exc: BaseException) -> bool:
        return isinstance(exc, UncompletedJobError)

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            with self._lock:
                for fut, job in self._running:
                    job.cancel(check=False)
                self._waiting.clear()
        else:
            while self._running or self._waiting:
                time.sleep(self._poll_s)
        self._stop.set()

    def describe(self) -> str:
        return (f"submitit ({self.cluster}), {self.workers or 'unbounded'} job(s) at a time × "
                f"{self.threads} CPU(s) per job")
