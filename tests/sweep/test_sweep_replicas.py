"""``dlscope sweep --replicas K``: tasks that differ only in seed (or η, momentum, weight decay) are
trained as one vmapped model, then each task's preset runs and finds its nets trained. Run here in
this process (no pool) on the tiny grid (2 cells × 2 seeds, tests/cases.py SWEEP_TINY).

Tolerance: the numbers of the table equal those of the one-by-one tasks up to float rounding
(tests/train/test_replicas.py measures the replicas against separate fit runs: |Δ loss| ≤ 1.7e-5,
accuracies equal); on this grid the largest difference measured was 0 (accuracies of 64 examples,
claims, steps), so 1e-4 absolute with accuracies within one example (1/64) leaves margin."""
import json
import math

import pytest

from dlscope.sweep import groups, run_unit, table_rows, unit


def test_replica_groups_follow_the_replica_keys(sweeps, tmp_path):
    spec = sweeps.tiny
    tasks = spec.tasks(tmp_path)
    # lr is a replica key: every task of the grid may share one vmapped model, in grid order
    assert [[t.label for t in g] for g in groups(spec, tasks, replicas=2)] == [
        ["lr=0.01 seed 0", "lr=0.01 seed 1"], ["lr=0.02 seed 0", "lr=0.02 seed 1"]]
    assert [len(g) for g in groups(spec, tasks, replicas=4)] == [4]
    assert [len(g) for g in groups(spec, tasks, replicas=3)] == [3, 1]
    assert [len(g) for g in groups(spec, tasks, replicas=1)] == [1, 1, 1, 1]


def test_replicas_unit_equals_the_tasks_run_one_by_one(sweeps, tmp_path):
    spec = sweeps.tiny
    spec.write(tmp_path)
    (group,) = groups(spec, spec.tasks(tmp_path), replicas=4)
    result = run_unit(unit(spec, group, tmp_path, threads=1))
    assert result["notes"] == []
    for t in group:  # the preset trained nothing beyond the plan: every net came from the vmapped group
        for s in (t.out / "runs").glob("*/summary.json"):
            assert json.loads(s.read_text())["notes"] == ["trained as replica %d of 4 (vmapped)" % (group.index(t) + 1)]
    got, want = table_rows(tmp_path, spec), sweeps.reference(spec)
    assert [(r["cell"], r["seed"]) for r in got] == [(r["cell"], r["seed"]) for r in want]
    for a, b in zip(got, want):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float) and isinstance(b[k], float) and not (math.isnan(a[k]) and math.isnan(b[k])):
                tol = 1 / 64 + 1e-9 if k.endswith(("acc", "error", "accuracy")) else 1e-4
                assert a[k] == pytest.approx(b[k], abs=tol), k
            elif not isinstance(a[k], float):
                assert a[k] == b[k], k
