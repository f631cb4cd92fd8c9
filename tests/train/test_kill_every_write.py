"""Issue 15 item 7: a SIGKILL inside every file write of a preset run, then the same command again.

``kill_driver.py`` (beside this file) runs the tiny zhang2017 preset once to count its writes —
config, env, metrics lines, checkpoints, summaries, reports: 19 — then, for each k, kills a fresh
run inside its k-th write (the temporary complete but not renamed; half a metrics line written)
and reruns it. Every rerun must equal the uninterrupted run (claims, table, metrics files byte for
byte), leave no temporary behind and pass ``verify``. One subprocess, so the forks happen in a
single-threaded interpreter, not in pytest's.
"""
import json
import os
import subprocess
import sys
from pathlib import Path


def test_kill_inside_every_write_then_rerun_is_identical(tmp_path):
    env = {**os.environ, "DLSCOPE_THREADS": "1"}
    env.pop("DLSCOPE_TEST_KILL_AT_WRITE", None)
    p = subprocess.run([sys.executable, str(Path(__file__).with_name("kill_driver.py")), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    tally = json.loads(p.stdout.strip().splitlines()[-1])
    assert tally["writes"] >= 15, tally  # 2 sub-runs × (config, env, 2 × (row, checkpoint), summary) + preset's 5
    assert tally["killed"] == tally["identical"] == tally["writes"] and tally["stale_left"] == 0, tally
    assert not tally["failures"], tally
