"""``bash bench/gpu.sh --smoke`` — the prepared GPU script — runs unchanged on a CPU and prints its table."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_script_smoke_mode_prints_the_table(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "DLSCOPE_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--smoke", "--out", str(tmp_path / "run")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("device cpu") and "smoke sizes" in lines[0]
    header = next(i for i, ln in enumerate(lines) if re.match(r"section\s+what\s+value\s+detail", ln))
    rows = lines[header + 1:]
    assert not any("FAILED" in r for r in rows)
    sections = {r.split()[0] for r in rows}
    assert sections == {"throughput", "curvature", "run"}
    for model in ("inception-small", "resnet"):  # both nets, fp32 measured, bf16 declined on a CPU
        assert any(re.search(rf"{model} .*, fp32\s+[\d,]+ img/s\s+[\d.]+ TFLOP/s", r) for r in rows), model
        assert any(re.search(rf"{model} .*, bf16 .*n/a\s+amp_bf16 is CUDA-only", r) for r in rows), model
    for what in ("Hessian-vector product", "Lanczos top-5", "points_per_batch=32", "points_per_batch=1"):
        assert any(what in r for r in rows), what
    assert any(re.search(r"zhang2017-random-labels, shortened\s+\d/\d claims held", r) for r in rows)
    assert (tmp_path / "run" / "summary.json").exists()
