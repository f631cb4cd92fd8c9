"""The plateau schedule (issue 11): the rule on a hand-made metrics sequence, and an exact resume
across its drops after a real SIGKILL (metrics.jsonl and snapshots byte-for-byte)."""
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dlscope.train import TrainConfig, learning_rate, plateau_drops, read_snapshots

DRIVER = Path(__file__).with_name("plateau_kill_driver.py")


def _rows(losses, every=10):
    return [{"step": every * (i + 1), "train_loss": v} for i, v in enumerate(losses)]


def test_rule_on_a_hand_made_sequence():
    # tol 1 %: 0.995 is no improvement on 1.0; 0.98 is. Patience 3: the third non-improving point drops.
    losses = [1.0, 0.995, 0.999, 0.991, 0.98, 0.979, 0.5, 0.6, "nan", 0.7, 0.49, 0.49, 0.49]
    rows = _rows(losses)
    # best 1.0 → bad 1, 2, 3 (drop at 40, bad 0) → 0.98 improves (best .98) → .979 bad 1 → .5 best →
    # .6 bad 1, nan bad 2, .7 bad 3 (drop at 100) → .49 best (< .5·.99) → .49 bad 1, .49 bad 2
    assert plateau_drops(rows, patience=3, tol=0.01) == [40, 100]
    assert plateau_drops(rows, patience=3, tol=0.01, upto_step=99) == [40]
    assert plateau_drops(rows, patience=1, tol=0.0)[:2] == [30, 80]  # tol 0: every decrease improves
    cfg = TrainConfig(lr=0.1, schedule="plateau", plateau_patience=3, plateau_tol=0.01, plateau_factor=10.0)
    assert learning_rate(cfg, 39, 7, rows) == 0.1
    assert learning_rate(cfg, 40, 7, rows) == pytest.approx(0.01)
    assert learning_rate(cfg, 130, 7, rows) == pytest.approx(0.001)
    assert learning_rate(cfg, 130, 7, []) == 0.1


def test_bad_plateau_fields_are_one_line_errors():
    for kw, match in ((dict(plateau_factor=1.0), "plateau_factor"), (dict(plateau_patience=0), "plateau_patience"),
                      (dict(plateau_tol=1.5), "plateau_tol"), (dict(schedule="plateaus"), "schedule")):
        with pytest.raises(ValueError, match=match):
            TrainConfig(**kw)


def _run(run_dir, kill_at=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(run_dir)], stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if kill_at is not None and line.strip() == f"step {kill_at}":
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=300)
    return proc.returncode


def test_sigkill_and_resume_across_drops_is_exact(tmp_path):
    assert _run(tmp_path / "ref") == 0
    ref = (tmp_path / "ref" / "metrics.jsonl").read_bytes()
    import json

    rows = [json.loads(x) for x in ref.decode().splitlines()]
    drops = plateau_drops(rows, patience=2, tol=0.05)
    lrs = sorted({r["lr"] for r in rows})
    # the sequence is built to drop at least twice within 160 steps (tol 5 %, patience 2)
    assert len(drops) >= 2 and len(lrs) >= 3, (drops, lrs)
    # kill between the first and second drop, off an evaluation point: the resumed run must redo
    # the steps after the last checkpoint with the reduced rate and then find the second drop itself
    kill = drops[0] + 5
    assert kill < drops[1]
    assert _run(tmp_path / "cut", kill_at=kill) == -signal.SIGKILL
    assert not (tmp_path / "cut" / "summary.json").exists()
    assert _run(tmp_path / "cut") == 0
    assert (tmp_path / "cut" / "metrics.jsonl").read_bytes() == ref
    a, b = read_snapshots(tmp_path / "ref"), read_snapshots(tmp_path / "cut")
    assert [s for s, _ in a] == [s for s, _ in b] == list(range(0, 161, 16))
    for (_, ta), (_, tb) in zip(a, b):
        assert ta.keys() == tb.keys() and all(ta[k].equal(tb[k]) for k in ta)
    assert all(math.isfinite(r["train_loss"]) for r in rows)
