"""The run directory (DESIGN.md): everything a result needs to be trusted and resumed.

```
config.json            the full configuration (model, data, training, preset)
env.json               python/torch/numpy versions, platform, device, dtype, threads, git sha, data hash
metrics.jsonl          one JSON object per evaluation point, each carrying its own "_sha256"
checkpoint.safetensors model state + optimizer state + step, one file (atomic, self-verifying)
summary.json           final metrics; its presence marks "finished"
.dlscope.lock          the advisory lock of the process writing the directory
```
Every file except ``metrics.jsonl`` is written to a temporary name and renamed into
place, so a kill at any moment leaves either the old or the new version. Appended
metric lines past the checkpoint's step are dropped on resume (a torn last line too).

**What vouches for what** (issue 17). ``config.json``, ``env.json`` and ``summary.json`` carry
their own SHA-256 (:func:`dlscope._io.read_json` verifies it). The checkpoint verifies itself
(:mod:`.checkpoint`) and records, in its ``extra``, the digest of the configuration it belongs to
and the number and SHA-256 of the metrics lines written before it; ``summary.json`` records the
same for the whole metrics file and the checkpoint's digest. :meth:`RunDir.restore` trusts a file
only through that chain: a finished run whose files disagree is re-derived — from the checkpoint
if it and the metrics rows before it are intact, else from scratch — and says so in one line
(:attr:`Restored.recovered`). With one checkpoint kept, "the last checkpoint whose rows are
intact" is the latest one or none (training is deterministic, so either way the result is the
uncorrupted run's).
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .._io import (IntegrityError, append_line, atomic_write_bytes, check_line, digest_line, hold_lock,
                   json_digest, read_json, remove_stale_temporaries, sha256_hex, to_jsonable, write_json)
from .._version import __version__
from .checkpoint import apply_checkpoint, read_checkpoint

__all__ = ["environment", "RunDir", "Restored"]


def _git_sha() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str = "cpu", dtype: str = "float32", data_hash: str | None = None) -> dict:
    """Provenance of a run (STYLE #12), including the OpenMP wait policy the process runs under."""
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
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "git_sha": _git_sha(),
        "data_hash": data_hash,
    }
    return env


@dataclasses.dataclass
class Restored:
    """What :meth:`RunDir.restore` found: where to continue, and what it had to re-derive."""

    step: int = 0                      # the checkpoint's step (0: start from the model's initialization)
    metrics: list = dataclasses.field(default_factory=list)  # verified rows up to ``step``
    extra: dict = dataclasses.field(default_factory=dict)    # the checkpoint's extra (e.g. the initial loss)
    summary: Optional[dict] = None     # the verified summary of a finished run
    resumed: bool = False              # continued from a checkpoint
    recovered: Optional[str] = None    # one line: which file failed its check and what was done instead


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

    def lock(self):
        """``with rd.lock():`` — exclusive use of the directory (:func:`dlscope._io.hold_lock`)."""
        return hold_lock(self.path)

    def start(self, config: dict, env: dict) -> None:
        """Begin a fresh run: write config and env, clear stale metrics, checkpoint and summary."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.check_config(config)
        write_json(self.config, config, digest=True)
        write_json(self.env, env, digest=True)
        for f in (self.metrics, self.checkpoint, self.summary):
            f.unlink(missing_ok=True)

    def check_config(self, config: dict) -> None:
        """Refuse to mix runs: an existing config.json must equal ``config`` (IntegrityError if corrupt)."""
        if self.config.exists() and read_json(self.config, required=True) != to_jsonable(config):
            raise RuntimeError(f"{self.path} holds a run with a different configuration; use another --out")

    def append_metrics(self, row: dict) -> None:
        append_line(self.metrics, digest_line(row))

    def _lines(self) -> list[bytes]:
        return self.metrics.read_bytes().splitlines(keepends=True) if self.metrics.exists() else []

    def metrics_record(self) -> dict:
        """``{"metrics_rows": n, "metrics_sha256": ...}`` of the metrics file as it is now."""
        lines = self._lines()
        return {"metrics_rows": len(lines), "metrics_sha256": sha256_hex(b"".join(lines))}

    def verified_metrics(self, record: dict) -> list[dict]:
        """The first ``record["metrics_rows"]`` rows, checked against the record and their own digests."""
        n, lines = int(record["metrics_rows"]), self._lines()
        if len(lines) < n or sha256_hex(b"".join(lines[:n])) != record["metrics_sha256"]:
            raise IntegrityError(f"{self.metrics}: the rows up to the checkpoint are not the ones written "
                                 "(a row corrupt, missing or truncated)")
        rows = [check_line(line.decode("utf-8", "replace")) for line in lines[:n]]
        if any(r is None for r in rows):
            raise IntegrityError(f"{self.metrics}: a row does not match its sha256")
        return rows

    def read_metrics(self, upto_step: int | None = None) -> list[dict]:
        """Every intact row (unreadable, torn or altered lines skipped), without digests, up to ``upto_step``."""
        rows = (check_line(line.decode("utf-8", "replace"), required=False) for line in self._lines())
        return [r for r in rows if r is not None and (upto_step is None or r.get("step", 0) <= upto_step)]

    def rewrite_metrics(self, rows: list[dict]) -> None:
        atomic_write_bytes(self.metrics, "".join(digest_line(r) for r in rows).encode("utf-8"))

    def restore(self, config: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> Restored:
        """Where a run continues, every file it trusts verified first (see the module docstring).

        Removes stale temporaries (call it only under :meth:`lock`). Loads model and optimizer only
        from a checkpoint that passed every check; otherwise leaves them untouched and starts afresh.
        A different configuration raises RuntimeError (a user's mistake, not a corruption).
        """
        remove_stale_temporaries(self.path)
        want = json_digest(config)
        problems: list[str] = []
        try:
            self.check_config(config)
        except IntegrityError as e:
            problems.append(str(e))
            write_json(self.config, config, digest=True)
        found = None
        if self.finished():
            found = self._verified(want, problems, finished=True)
        if found is None and self.checkpoint.exists():
            found = self._verified(want, problems, finished=False)
        problems = list(dict.fromkeys(problems))  # the same file may fail both attempts
        if found is None:
            return Restored(recovered=("; ".join(problems) + "; retrained from scratch") if problems else None)
        tensors, meta, rows, summary = found
        step, extra = apply_checkpoint(tensors, meta, model, optimizer)
        note = "; ".join(problems) + (f"; re-derived from the intact checkpoint at step {step}" if problems else "")
        if summary is None:
            self.rewrite_metrics(rows)  # drop rows past the checkpoint and a torn last line
            self.summary.unlink(missing_ok=True)
        return Restored(step, rows, extra, summary, summary is None, note or None)

    def _verified(self, want: str, problems: list, finished: bool):
        """(tensors, meta, rows, summary or None) if the chain holds, else None with the reason in ``problems``."""
        try:
            summary = read_json(self.summary, required=True) if finished else None
            tensors, meta = read_checkpoint(self.checkpoint)
            extra = json.loads(meta["extra"])
            if extra.get("config_sha256") != want:
                raise IntegrityError(f"{self.checkpoint}: belongs to another configuration")
            if summary is not None and (summary.get("config_sha256") != want
                                        or summary.get("checkpoint_sha256") != meta["meta_sha256"]):
                raise IntegrityError(f"{self.summary}: does not match the run's configuration or checkpoint")
            rows = self.verified_metrics(summary if summary is not None else extra)
            return tensors, meta, rows, summary
        except IntegrityError as e:
            problems.append(str(e))
        except (KeyError, ValueError, TypeError, AttributeError):  # fields missing in an intact-looking file
            problems.append(f"{self.summary if finished else self.checkpoint}: malformed")
        return None
