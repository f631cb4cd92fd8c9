"""Ray Core as a sweep engine (``pip install dlscope[ray]``): each unit of work is one Ray task.

``RayExecutor(address="HOST:PORT")`` joins an existing cluster; without an address it starts a
local one with ``workers × threads`` CPUs on 127.0.0.1 (no dashboard) and stops it at ``shutdown``. A Ray
session already initialized in this process is used as it is (and left running). Every task asks
for ``threads`` CPUs, so Ray never places more tasks on a node than its cores allow, and runs in a
worker whose environment has ``OMP_WAIT_POLICY=PASSIVE`` and the thread count before torch loads
(a job-level ``runtime_env``). Ray retries a task whose worker died (``max_retries``); a task lost
beyond that (``WorkerCrashedError``, a dead node) is reported as lost, and the driver submits it
again. Workers must be able to import dlscope (installed there, or on ``PYTHONPATH``).
"""
from __future__ import annotations

from concurrent.futures import Future
from typing import Callable

import ray
from ray import exceptions as rex

from .executors import default_threads, size_workers, worker_env

__all__ = ["RayExecutor"]

_LOST = tuple(getattr(rex, n) for n in ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError",
                                        "RaySystemError", "ObjectLostError", "OwnerDiedError") if hasattr(rex, n))


class RayExecutor:
    """Ray Core tasks on a cluster at ``address``, or on a local one (see the module docstring)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, threads: int | None = None,
                 max_retries: int = 3):
        self.address = address
        if address is None:
            self.workers, self.threads = size_workers(workers, threads)
        else:  # the cluster's cores are Ray's business: each task asks for `threads` CPUs
            self.workers, self.threads = workers, threads or default_threads()
        env = {"env_vars": worker_env(self.threads)}
        self._owned = False
        if not ray.is_initialized():
            kw = dict(runtime_env=env, log_to_driver=False, configure_logging=False)
            if address is None:
                # a cluster of this machine only: its services listen on 127.0.0.1, not the network
                ray.init(address="local", num_cpus=self.workers * self.threads, include_dashboard=False,
                         _node_ip_address="127.0.0.1", **kw)
            else:
                ray.init(address=address, **kw)
            self._owned = True
        self._max_retries = max_retries
        self._remote: dict = {}

    def submit(self, fn: Callable, *args) -> Future:
        if fn not in self._remote:
            self._remote[fn] = ray.remote(num_cpus=self.threads, max_retries=self._max_retries)(fn)
        return self._remote[fn].remote(*args).future()

    def lost(self, exc: BaseException) -> bool:
        return isinstance(exc, _LOST) and not isinstance(exc, rex.RayTaskError)

    def shutdown(self, cancel: bool = False) -> None:
        if self._owned and ray.is_initialized():
            ray.shutdown()
            self._owned = False

    def describe(self) -> str:
        where = f"cluster at {self.address}" if self.address else f"local cluster of {self.workers * self.threads} CPUs"
        return f"Ray, {where}, {self.threads} CPU(s) per task"
