"""Issue 15 item 7: the disk fills up during a run — one line, exit 1 — and after space is freed the
same command finishes with the result of a run that never ran out of space.

Needs a small tmpfs (root on Linux); elsewhere the test is skipped with the reason. The run is the
tiny zhang2017 preset (figures stubbed); the free space is set so that the run stops at a few
different points (early sub-run files, a later checkpoint, the reports).
"""
import json
import os
import shutil
import subprocess

import pytest
from matplotlib.figure import Figure

from cases import TINY_ZHANG_SET, stub_savefig
from dlscope.cli import main


def _result(out):
    s = json.loads((out / "summary.json").read_text())
    return s["claims"], s["table"], {r: (out / "runs" / r / "metrics.jsonl").read_text() for r in
                                     ("true_labels_seed0", "random_labels_seed0")}


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip() or 'not root'}): disk-full test skipped")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_disk_full_is_one_line_and_the_rerun_completes_identically(tmp_path, small_disk, monkeypatch, capsys):
    monkeypatch.setattr(Figure, "savefig", stub_savefig)
    cmd = ["run", "zhang2017-random-labels", *TINY_ZHANG_SET]
    assert main([*cmd, "--out", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    stops = set()
    for free_kib in (8, 28, 60):
        out = small_disk / f"o{free_kib}"
        st = os.statvfs(small_disk)
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - free_kib * 1024))
        code = main([*cmd, "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and "no space left" in err[0] and "same command" in err[0], err
        stops.add(len(list(out.rglob("*"))))
        filler.unlink()
        assert main([*cmd, "--out", str(out)]) == 0, capsys.readouterr().err
        assert _result(out) == _result(tmp_path / "ref")
        assert not list(out.rglob(".*.tmp"))
        shutil.rmtree(out)
    assert len(stops) >= 2  # the runs stopped at different points
