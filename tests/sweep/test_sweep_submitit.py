"""The sweep through submitit's local executor (the SLURM code path, jobs as local processes; each
job is a fresh interpreter, ≈ 5 s here, so this module keeps to 3 jobs): 2 tasks at a time, one job
SIGKILLed in the middle of its cell ends without a result (UncompletedJobError: lost); the driver
submits it again, it resumes from its checkpoint, every task finishes once, and the table equals the
tasks run one by one, uninterrupted.

Counts (kills tried / sweeps completed with the uninterrupted table) on the dev machine: 6/6 (this
module run 6 times in a loop, 2 cores shared with other jobs).
"""
import threading

import pytest

pytest.importorskip("submitit", reason="submitit not installed (pip install 'dlscope[slurm]')")

from dlscope.sweep import make_executor, run_sweep, table_rows  # noqa: E402


def test_submitit_local_job_killed_mid_cell_is_resubmitted_and_the_table_is_the_same(sweeps, tmp_path):
    spec, events, result = sweeps.kill, [], {}
    reference = sweeps.reference(spec)
    ex = make_executor("slurm-local", workers=2, threads=1, folder=tmp_path / ".submitit")
    assert ex.describe().startswith("submitit (local), 2 job(s) at a time")
    runner = threading.Thread(target=lambda: result.update(
        run_sweep(spec, tmp_path / "k", ex, progress=lambda e, i: events.append((e, i)))))
    runner.start()
    try:
        killed = sweeps.kill_mid_cell(tmp_path / "k", spec)
        runner.join(timeout=300)
    finally:
        ex.shutdown(cancel=True)
    assert not runner.is_alive() and killed["mid_cell"], killed
    assert (result["finished"], result["failed"], result["resubmitted"]) == (2, [], 1)
    assert [e for e, _ in events].count("lost") == 1
    sweeps.assert_no_duplicates(tmp_path / "k", spec, events)
    assert table_rows(tmp_path / "k", spec) == reference
