"""Kill safety of a sweep on the local process pool (tests/cases.py SWEEP_KILL: 1 cell × 2 seeds, 120
SGD steps a task with a checkpoint every 10).

* SIGKILL a worker in the middle of a cell (a checkpoint written, the task unfinished): the sweep
  finishes, every task exactly once (one "done" each, metrics steps never repeated), and the table
  equals that of the same tasks run uninterrupted, one by one.
* SIGKILL the driver (``dlscope sweep`` in its own process) in the middle of a cell: its workers die
  with it, and the same command run again completes the same table.

Counts (kills tried / sweeps completed with a table identical to the uninterrupted one), run
repeatedly on the dev machine: worker kill 6/6, driver kill 6/6 (each test run 6 times in a loop,
2 cores shared with other jobs).
"""
import os
import subprocess
import sys
import threading

from cases import SWEEP_KILL
from dlscope.cli import main
from dlscope.sweep import make_executor, run_sweep, table_rows

SET = [a for k, v in SWEEP_KILL.items() for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]


def test_worker_killed_mid_cell_sweep_finishes_once_per_task_same_table(sweeps, tmp_path):
    spec, out, events = sweeps.kill, tmp_path / "k", []
    reference = sweeps.reference(spec)
    ex = make_executor("local", workers=2)
    result = {}
    runner = threading.Thread(target=lambda: result.update(run_sweep(spec, out, ex, progress=lambda e, i: events.append((e, i)))))
    runner.start()
    try:
        killed = sweeps.kill_mid_cell(out, spec)
        runner.join(timeout=300)
    finally:
        ex.shutdown()
    assert not runner.is_alive()
    assert killed["mid_cell"], killed
    assert result["resubmitted"] >= 1 and result["failed"] == [] and result["finished"] == 2
    assert any(e == "lost" for e, _ in events)
    sweeps.assert_no_duplicates(out, spec, events)
    assert table_rows(out, spec) == reference


def test_driver_killed_mid_cell_rerun_completes_the_same_table(sweeps, tmp_path):
    spec, out = sweeps.kill, tmp_path / "d"
    reference = sweeps.reference(spec)
    args = ["sweep", spec.preset, "--quick", *SET, "--seeds", "2", "--workers", "1", "--out", str(out)]
    env = {**os.environ, "DLSCOPE_PROGRESS": "0"}
    driver = subprocess.Popen([sys.executable, "-m", "dlscope.cli", *args], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        killed = sweeps.kill_mid_cell(out, spec, pid_of=lambda worker: driver.pid)
    finally:
        driver.kill()
        driver.wait()
    assert killed["mid_cell"] and killed["worker"] != driver.pid, killed
    assert sweeps.gone(killed["worker"], timeout=10), "the worker outlived its driver"
    assert len(table_rows(out, spec)) < 2  # interrupted: not every task finished
    assert main(args) == 0
    sweeps.assert_no_duplicates(out, spec)
    assert table_rows(out, spec) == reference
