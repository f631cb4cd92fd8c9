"""``dlscope sweep`` on the local process pool, end to end on a tiny zhang2017 grid (2 cells × 2 seeds,
tests/cases.py SWEEP_TINY): the table equals the tasks run one by one in this process; a rerun
skips every finished task and runs exactly the unfinished ones; then ``dlscope table | report |
export`` on the finished sweep (event files read back with TensorBoard's own reader)."""
import csv
import importlib.util
import io
import json

import pytest

from cases import SWEEP_TINY
from dlscope.cli import main
from dlscope.sweep import load_spec, make_executor, run_sweep, table_rows

SET = [a for k, v in SWEEP_TINY.items() for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]


@pytest.fixture(scope="module")
def swept(sweeps, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "zr"
    code = main(["sweep", "zhang2017-random-labels", "--quick", *SET, "--grid", "lr=0.01,0.02", "--seeds", "2",
                 "--workers", "2", "--out", str(out)])
    assert code == 0
    return out


def test_local_sweep_equals_the_tasks_run_one_by_one(swept, sweeps):
    assert load_spec(swept) == sweeps.tiny
    assert table_rows(swept) == sweeps.reference(sweeps.tiny)
    status = json.loads((swept / "status.json").read_text())
    assert (status["tasks"], status["finished"], status["ran"], status["failed"]) == (4, 4, 4, [])
    assert "2 worker(s) × 1 torch thread(s)" in status["executor"]
    env = json.loads((swept / "cells/lr=0.01/seed0/runs/true_labels_seed0/env.json").read_text())
    assert (env["omp_wait_policy"], env["torch_threads"]) == ("PASSIVE", 1)


def test_rerun_skips_finished_tasks_and_runs_only_the_unfinished(swept, sweeps, tmp_path):
    ex = make_executor("local", workers=1)
    try:
        again = run_sweep(sweeps.tiny, swept, ex)
        assert (again["ran"], again["finished"]) == (0, 4)          # every task skipped, no worker started
        assert ex._pool is None
        (swept / "cells/lr=0.02/seed1/summary.json").unlink()       # as if killed before the end of that task
        events = []
        again = run_sweep(sweeps.tiny, swept, ex, progress=lambda e, info: events.append((e, info)))
    finally:
        ex.shutdown()
    assert (again["ran"], again["finished"]) == (1, 4)
    assert [x["cell"] + f" seed {x['seed']}" for e, i in events if e == "done" for x in i["unit"]["tasks"]] == \
        ["lr=0.02 seed 1"]
    assert table_rows(swept) == sweeps.reference(sweeps.tiny)


def test_table_md_csv_and_parquet(swept, capsys):
    assert main(["table", str(swept)]) == 0
    md = capsys.readouterr().out
    assert "| lr=0.01 | 0.01 | 2 |" in md and "mean ± sd" in md and md.count("| lr=0.0") == 6  # 2 cells + 4 rows
    assert main(["table", str(swept), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["cell"], r["seed"]) for r in rows] == [("lr=0.01", "0"), ("lr=0.01", "1"), ("lr=0.02", "0"),
                                                      ("lr=0.02", "1")]
    assert main(["table", str(swept), "--format", "csv", "--aggregate", "--metrics", "true_labels.test_acc"]) == 0
    agg = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(agg) == 2 and any("sd" in k for k in agg[0])
    code = main(["table", str(swept), "--format", "parquet", "--output", str(swept / "t.parquet")])
    err = capsys.readouterr().err
    if importlib.util.find_spec("pyarrow") is None:
        assert code == 2 and err.count("\n") == 1 and "pyarrow" in err
    else:
        assert code == 0 and (swept / "t.parquet").stat().st_size > 0
    assert main(["table", str(swept.parent / "nothing")]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_report_page_with_error_bar_figures(swept, capsys):
    assert main(["report", str(swept)]) == 0
    html = (swept / "report.html").read_text()
    figures = sorted((swept / "figures").glob("*.png"))
    assert figures and all(f.stat().st_size > 1000 for f in figures)
    assert html.count("data:image/png;base64,") >= len(figures)  # the figures, embedded
    assert "lr=0.02" in html and 'href="cells/lr=0.01/seed0/report.html"' in html
    assert (swept / "report.md").exists()


def test_export_to_tensorboard_reads_back(swept, capsys, tmp_path):
    pytest.importorskip("tensorboard", reason="dlscope[tensorboard] not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    assert main(["export", str(swept), "--to", "tensorboard", "--out", str(out)]) == 0
    assert "exported 4 training run(s)" in capsys.readouterr().out
    run = swept / "cells/lr=0.02/seed1/runs/true_labels_seed1"
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    ea = EventAccumulator(str(out / "cells/lr=0.02/seed1/runs/true_labels_seed1"),
                          size_guidance={"tensors": 0, "scalars": 0}).Reload()
    tags = ea.Tags()
    # torch's SummaryWriter stores scalars as tensors for the TensorBoard 2 reader
    series = {e.step: e.value for e in ea.Scalars("test_acc")} if "test_acc" in tags["scalars"] else \
        {e.step: float(e.tensor_proto.float_val[0]) for e in ea.Tensors("test_acc")}
    assert series == pytest.approx({m["step"]: m["test_acc"] for m in metrics}, rel=1e-6)
    assert "claims" in str(tags) and "config" in str(tags)
    assert main(["export", str(swept), "--to", "tensorboard", "--out", str(out)]) == 2  # not empty: refused
    assert capsys.readouterr().err.count("\n") == 1


def test_export_to_wandb_offline_or_one_line_error(swept, capsys, tmp_path):
    code = main(["export", str(swept), "--to", "wandb", "--out", str(tmp_path / "wb")])
    captured = capsys.readouterr()
    if importlib.util.find_spec("wandb") is None:
        assert code == 2 and captured.err.count("\n") == 1 and "pip install 'dlscope[wandb]'" in captured.err
    else:
        assert code == 0 and list((tmp_path / "wb").rglob("*.wandb"))
