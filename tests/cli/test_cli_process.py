"""The command line as separate processes: one process per ``--out`` (issue 15 item 6), Ctrl-C
(issue 13), the OpenMP wait policy a CLI child runs under (issue 17 part 3), DLSCOPE_THREADS."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cases import TINY_ZHANG_SET
from dlscope.cli import main


def _env():
    env = {**os.environ, "DLSCOPE_THREADS": "1"}
    env.pop("OMP_WAIT_POLICY", None)  # as a user's shell has it: the CLI must set it
    return env


def test_second_process_on_the_same_out_then_ctrl_c(tmp_path, capsys):
    """Process A (a real CLI process) trains with a long budget; this test's process, running the same
    command, is refused in one line while A holds ``--out``; Ctrl-C stops A with one line saying the
    same command resumes, and what A left is intact."""
    out = tmp_path / "o"
    # lr = 1e-6: never fits, so A trains until interrupted
    args = ["run", "zhang2017-random-labels", *TINY_ZHANG_SET, "--set", "max_steps=1000000", "--set",
            "eval_every=100", "--set", "lr=1e-6", "--out", str(out)]
    a = subprocess.Popen([sys.executable, "-m", "dlscope.cli", *args], env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while not (out / "runs" / "true_labels_seed0" / "metrics.jsonl").exists():  # A holds the lock, training
            assert a.poll() is None and time.time() - t0 < 300, a.stderr.read() if a.poll() is not None else "slow"
            time.sleep(0.05)
        # A's own temporaries come and go while it writes (renamed into place): not part of what must stay
        listing = sorted(p.name for p in out.rglob("*") if not p.name.endswith(".tmp"))
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"another dlscope process holds {out} since " in err[0] and f"(pid {a.pid})" in err[0]
        assert {p.name for p in out.rglob("*")} >= set(listing) and (out / "config.json").exists()
        a.send_signal(signal.SIGINT)
        _, a_err = a.communicate(timeout=120)
    finally:
        if a.poll() is None:
            a.kill()
    assert a.returncode == 130 and a_err.strip().splitlines() == [
        f"dlscope: interrupted; run the same command again to resume from {out}"], a_err
    env = json.loads((out / "env.json").read_text())
    assert env["omp_wait_policy"] == "PASSIVE"  # set by the CLI for itself (the child of this test)
    assert main(["verify", str(out)]) == 0  # what the interrupted run left is intact (and resumable)


PRINT_CHILD_ENV = ("import sys; from dlscope.cli import configure_threads; assert 'torch' not in sys.modules; "
                   "configure_threads(); import subprocess; subprocess.run([sys.executable, '-c', "
                   "'import os; print(os.environ.get(\"OMP_WAIT_POLICY\"))'])")


@pytest.mark.parametrize("user,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_cli_child_process_environment_shows_the_policy(user, expected):
    """Set before torch is imported (torch reads it once), inherited by every child (sweep workers);
    a value the user set is kept."""
    env = _env()
    env.pop("DLSCOPE_THREADS")  # (with it, configure_threads imports torch to apply it: seconds, not needed)
    if user:
        env["OMP_WAIT_POLICY"] = user
    p = subprocess.run([sys.executable, "-c", PRINT_CHILD_ENV], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == expected, p.stderr


def test_non_numeric_dlscope_threads_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("DLSCOPE_THREADS", "two")
    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DLSCOPE_THREADS must be a positive integer" in err[0]
