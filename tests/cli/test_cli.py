"""The command line: listing, argument errors (nothing written), and SIGKILL-then-resume equality."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dlscope.cli import main

SMALL = ["--set", "variants=true_labels,random_labels", "--set", "fractions=0,1"]


def _env():
    return {**os.environ, "DLSCOPE_THREADS": "1", "DLSCOPE_PROGRESS": "lines"}


def test_list_names_presets_and_claims(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "zhang2017-random-labels" in out and "claims:" in out


def test_bad_key_is_one_clear_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "zhang2017-random-labels", "--set", "lrr=0.1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown key 'lrr'" in err and "valid keys:" in err and "max_steps" in err
    assert not out.exists()


@pytest.mark.parametrize("setting,msg", [("max_steps=ten", "expected int"), ("schedule=linear", "schedule"),
                                         ("noequals", "key=value"), ("model=vgg", "unknown model"),
                                         ("data=imagenet", "unknown dataset"), ("variants=noise", "variants")])
def test_bad_values_rejected_before_writing(tmp_path, capsys, setting, msg):
    out = tmp_path / "o"
    code = main(["run", "zhang2017-random-labels", "--set", setting, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and msg in err and not out.exists()


def test_unknown_preset(capsys):
    assert main(["run", "nope"]) == 2
    assert "available:" in capsys.readouterr().err


def _summary_values(out):
    s = json.loads((out / "summary.json").read_text())
    return s["claims"], [{k: r[k] for k in ("run", "steps_to_fit", "train_acc", "test_acc")} for r in s["table"]]


def test_sigkill_then_rerun_reaches_the_same_result(tmp_path):
    cmd = [sys.executable, "-m", "dlscope.cli", "run", "zhang2017-random-labels", "--quick", *SMALL]
    ref = tmp_path / "ref"
    subprocess.run(cmd + ["--out", str(ref)], check=True, env=_env(), capture_output=True, timeout=300)
    cut = tmp_path / "cut"
    proc = subprocess.Popen(cmd + ["--out", str(cut)], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = cut / "runs" / "random_labels_seed0" / "metrics.jsonl"
    t0 = time.time()
    while time.time() - t0 < 240:  # kill in the middle of the second training run
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cut / "summary.json").exists()
    assert (cut / "runs" / "true_labels_seed0" / "summary.json").exists()
    done = subprocess.run(cmd + ["--out", str(cut)], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # stderr is not a terminal: one line per sub-run, numbered on from the sub-run finished before the kill
    assert "run 2/2 random_labels_seed0: step" in done.stderr and "train acc" in done.stderr, done.stderr
    assert _summary_values(cut) == _summary_values(ref)
    for run in ("true_labels_seed0", "random_labels_seed0"):
        assert (cut / "runs" / run / "metrics.jsonl").read_text() == (ref / "runs" / run / "metrics.jsonl").read_text()
    again = subprocess.run(cmd + ["--out", str(cut)], env=_env(), capture_output=True, text=True, timeout=120)
    assert "claims held" in again.stdout  # a finished run is reported, not recomputed
