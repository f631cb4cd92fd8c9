"""Driver of the kill-at-every-write test (issue 15 item 7), run as ``python kill_driver.py WORKDIR``.

Runs the tiny zhang2017 preset once uninterrupted, counting its file writes (N). Then for every
k = 1..N: a forked child runs the same preset into a fresh directory with
``DLSCOPE_TEST_KILL_AT_WRITE=k`` and SIGKILLs itself inside its k-th write (after an atomic
write's temporary is complete but before the rename; after half of a metrics line); this process
then reruns the same command into that directory and compares the result — claims, table, every
sub-run's metrics file byte for byte — with the uninterrupted run's, and checks that no temporary
is left and ``verify`` finds every file intact. Prints one JSON line with the tallies.

A separate process (not pytest's) so that fork happens in a single-threaded interpreter.
"""
import json
import os
import signal
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: cases.py

from cases import TINY_ZHANG, stub_savefig  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dlscope import _io  # noqa: E402
from dlscope.experiments import run_preset  # noqa: E402
from dlscope.experiments.verify import verify_tree  # noqa: E402

NAME, ENV = "zhang2017-random-labels", "DLSCOPE_TEST_KILL_AT_WRITE"


def result(out: Path):
    s = json.loads((out / "summary.json").read_text())
    runs = sorted(p.name for p in (out / "runs").iterdir())
    return s["claims"], s["table"], {r: (out / "runs" / r / "metrics.jsonl").read_bytes() for r in runs}


def main(work: Path) -> dict:
    torch.set_num_threads(1)
    Figure.savefig = stub_savefig  # the test is about files, not pictures
    os.environ[ENV] = str(10 ** 9)  # armed but never reached: counts the writes
    run_preset(NAME, overrides=TINY_ZHANG, out=work / "ref")
    n, ref = _io._writes, result(work / "ref")
    del os.environ[ENV]
    tally = {"writes": n, "killed": 0, "identical": 0, "stale_left": 0, "failures": []}
    for k in range(1, n + 1):
        out = work / f"k{k}"
        pid = os.fork()
        if pid == 0:  # child: die inside write k
            os.environ[ENV] = str(k)
            _io._writes = 0
            try:
                run_preset(NAME, overrides=TINY_ZHANG, out=out)
            finally:
                os._exit(3)  # not killed: write k never came
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        tally["killed"] += killed
        run_preset(NAME, overrides=TINY_ZHANG, out=out)  # the same command again
        same = result(out) == ref
        stale = _io.stale_temporaries(out)
        intact = all(f.ok for f in verify_tree(out))
        tally["identical"] += same
        tally["stale_left"] += len(stale)
        if not (killed and same and intact and not stale):
            tally["failures"].append({"k": k, "killed": killed, "same": same, "intact": intact,
                                      "stale": [str(p) for p in stale]})
    return tally


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
