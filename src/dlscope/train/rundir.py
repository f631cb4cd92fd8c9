"""The run directory (DESIGN.md): everything a result needs to be trusted and resumed.

```
config.json            the full configuration (model, data, training, preset)
env.json               python/torch/numpy versions, platform, device, dtype, threads, git sha, data hash
metrics.jsonl          one JSON object per evaluation point
checkpoint.safetensors model state + optimizer state + step, one file (atomic)
summary.json           final metrics and, for presets, the "claims" list; its presence marks "finished"
figures/               PNGs
```
Every file except ``metrics.jsonl`` is written to a temporary name and renamed into
place, so a kill at any moment leaves either the old or the new version. Appended
metric lines past the checkpoint's step are dropped on resume (a torn last line too).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write_text, read_json, to_jsonable, write_json
from .._version import __version__

__all__ = ["environment", "RunDir"]


def _git_sha() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str = "cpu", dtype: str = "float32", data_hash: str | None = None) -> dict:
    """Provenance of a run (STYLE #12)."""
    dev = torch.device(device)
    env = {
        "dlscope": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "dtype": dtype,
        "torch_threads": torch.get_num_threads(),
        "git_sha": _git_sha(),
        "data_hash": data_hash,
    }
    return env


class RunDir:
    """Reads and writes one run directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    config = property(lambda self: self.path / "config.json")
    env = property(lambda self: self.path / "env.json")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    summary = property(lambda self: self.path / "summary.json")
    checkpoint = property(lambda self: self.path / "checkpoint.safetensors")
    figures = property(lambda self: self.path / "figures")

    def finished(self) -> bool:
        return self.summary.exists()

    def start(self, config: dict, env: dict) -> None:
        """Begin a fresh run: write config and env, clear stale metrics."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.check_config(config)
        write_json(self.config, config)
        write_json(self.env, env)
        self.metrics.unlink(missing_ok=True)

    def check_config(self, config: dict) -> None:
        """Refuse to mix runs: an existing config.json must equal ``config``."""
        if self.config.exists() and read_json(self.config) != to_jsonable(config):
            raise RuntimeError(f"{self.path} holds a run with a different configuration; use another --out")

    def append_metrics(self, row: dict) -> None:
        with open(self.metrics, "a") as f:
            f.write(json.dumps(to_jsonable(row)) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self, upto_step: int | None = None) -> list[dict]:
        rows = []
        if self.metrics.exists():
            for line in self.metrics.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line torn by a kill
                    continue
                if upto_step is None or row.get("step", 0) <= upto_step:
                    rows.append(row)
        return rows

    def rewrite_metrics(self, rows: list[dict]) -> None:
        atomic_write_text(self.metrics, "".join(json.dumps(to_jsonable(r)) + "\n" for r in rows))
