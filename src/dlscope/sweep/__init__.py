"""Sweeps: a preset over a grid of values × seeds, on a local process pool, Ray or SLURM (submitit).

    spec = SweepSpec("zhang2017-random-labels", quick=True, overrides={}, grid={"lr": [0.01, 0.02]}, seeds=(0, 1, 2))
    status = run_sweep(spec, "sweeps/zr", LocalExecutor(workers=2))   # rerun = resume
    rows = table_rows("sweeps/zr"); cells = aggregate(rows, spec)     # one row per cell × seed; mean ± sd, 95 % CI

The map:

* :mod:`.grid` — the spec, its tasks (one preset run per cell × seed), what is finished;
* :mod:`.executors` — the local process pool and the interface every engine has; :mod:`.on_ray`
  (``pip install dlscope[ray]``) and :mod:`.on_slurm` (``dlscope[slurm]``: submitit, its local
  mode for tests) — imported only when used;
* :mod:`.driver` — submit, resubmit what a lost worker dropped, record failures;
* :mod:`.worker` — what a worker runs (a per-task lock: never two runs of one task at once);
* :mod:`.plans` — seeds (and η, momentum, weight decay) as a batch dimension: tasks trained as
  vmapped replicas (zhang2017-random-labels, keskar2017-large-batch);
* :mod:`.table` — the results table (per cell × seed; aggregated with sd and 95 % CI);
* :mod:`.report` — the sweep's HTML/Markdown page with error-bar figures.
"""
from .driver import groups, run_sweep, unit
from .executors import LocalExecutor, cores, size_workers, worker_env
from .grid import SweepSpec, Task, cell_name, load_spec, parse_grid, parse_seeds
from .plans import HEADLINE, PLANS, REPLICA_KEYS, plan
from .worker import lock_path, run_unit

__all__ = ["SweepSpec", "Task", "parse_grid", "parse_seeds", "load_spec", "cell_name", "run_sweep", "groups", "unit",
           "LocalExecutor", "cores", "size_workers", "worker_env", "run_unit", "lock_path", "PLANS", "REPLICA_KEYS",
           "HEADLINE", "plan"]
