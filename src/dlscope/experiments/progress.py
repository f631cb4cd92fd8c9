"""Progress of a preset run for a person watching a terminal or reading a log (used by the CLI).

``RunProgress(stream, mode, runs_dir, total)`` is a :data:`~dlscope.experiments.Progress`
callback ``(what, done, total)``: ``mode="bar"`` draws a tqdm bar titled "run 3/9 NAME" (which
sub-run of how many); ``mode="lines"`` writes one line when a sub-run ends, and one a minute
during a long one, which is what a log (SLURM, nohup) can hold:

    run 3/9 random_labels_seed0: step 1200, train acc 0.71, 12 s

A "sub-run" is a training run: a ``what`` whose folder exists under ``runs_dir`` (the other
phases — paths, slices, critical points — are shown by name, unnumbered). Sub-runs finished
before this process started are counted as done, so a resumed run numbers on. The training
accuracy is read from the sub-run's ``metrics.jsonl`` (its last evaluation point). Nothing is
written unless a callback is made; ``mode="off"`` writes nothing.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

__all__ = ["RunProgress"]


def _last_metrics(run: Path) -> dict:
    try:
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


class RunProgress:
    def __init__(self, stream: TextIO, mode: str = "lines", runs_dir: Path | None = None, total: int | None = None,
                 heartbeat_s: float = 60.0):
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"mode must be bar, lines or off, got {mode!r}")
        self.stream, self.mode, self.runs, self.total, self.heartbeat = stream, mode, runs_dir, total, heartbeat_s
        self.name, self.bar, self.index = None, None, None
        self.is_run, self.t0, self.shown, self.done, self.steps = False, 0.0, 0.0, 0, 0

    def label(self) -> str:
        if not self.is_run:
            return str(self.name)
        return f"run {self.index}{'/' + str(self.total) if self.total else ''} {self.name}"

    def _line(self, final: bool) -> None:
        acc = _last_metrics(self.runs / self.name).get("train_acc") if self.is_run else None
        step = f"step {self.done}" + ("" if final else f"/{self.steps}")
        extra = f", train acc {acc:.2f}" if isinstance(acc, (int, float)) else ""
        print(f"{self.label()}: {step}{extra}, {time.monotonic() - self.t0:.0f} s", file=self.stream, flush=True)
        self.shown = time.monotonic()

    def close(self) -> None:
        """End the current sub-run (its final line, or close its bar)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.mode == "lines" and self.name is not None:
            self._line(final=True)
        self.name = None

    def update(self, what: str, done: int, total: int) -> None:
        if self.mode == "off":
            return
        if self.index is None:  # sub-runs finished before this process started
            self.index = sum(1 for _ in self.runs.glob("*/summary.json")) if self.runs is not None else 0
        if what != self.name:
            self.close()
            self.name, self.t0 = what, time.monotonic()
            self.shown = self.t0
            self.is_run = self.runs is not None and (self.runs / what).is_dir()
            self.index += self.is_run
            if self.mode == "bar":
                self.bar = tqdm(total=total, desc=self.label(), unit="step", leave=False, file=self.stream)
        self.done, self.steps = done, total
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        elif self.mode == "lines" and time.monotonic() - self.shown >= self.heartbeat:
            self._line(final=False)

    __call__ = update
