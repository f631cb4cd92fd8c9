"""The runnable examples of docs/guide.md (issue 13), each executed as a user would run it:
``python examples/NAME.py OUT``. Kept small (a few seconds of one core each); their output is checked
for the lines the guide shows."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str, *args: str) -> str:
    env = {**os.environ, "DLSCOPE_THREADS": "1", "DLSCOPE_PROGRESS": "0"}
    res = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("examples")
    return root, _run("measure_my_model.py", root / "measure"), _run("write_a_preset.py", root / "preset")


def test_measure_my_model(outputs):
    root, out, _ = outputs
    assert "[measured] hessian-top" in out and "[measured] weights" in out and "λ_max = " in out
    s = json.loads((root / "measure" / "report" / "summary.json").read_text())
    assert s["model"]["class"] == "SmallResNet" and s["model"]["format"] == "torch (weights_only)"
    assert all(e["status"] == "measured" for e in s["measures"]) and s["per_layer"]


def test_write_a_preset(outputs):
    root, _, out = outputs
    s = json.loads((root / "preset" / "summary.json").read_text())
    assert s["preset"] == "toy-random-labels" and {c["key"] for c in s["claims"]} == {"slower", "fit"}
    assert "[held] every run reaches 100 % training accuracy" in out  # the control
    assert (root / "preset" / "report.html").is_file() and s["figures"] == ["figures/steps.png"]


def test_read_a_report(outputs):
    root, _, _ = outputs
    out = _run("read_a_report.py", root / "preset", root / "measure" / "report")
    assert "claim   [" in out and "control [held]" in out and "provenance: dlscope" in out
    assert "sharpest layer:" in out and "alpha" in out
