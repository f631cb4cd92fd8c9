"""Trajectory snapshots: θ_t every k steps, one safetensors file per snapshot in the run directory.

``OUT/runs/<name>/snapshots/step_00001200.safetensors`` holds the model's state dict (parameters and
buffers) after 1200 steps; θ₀ (step 0) and the last step of the run are always kept, so a
trajectory analysis has both ends (Kleinberg et al. 2018 compare every θ_t with the final θ_T).
Each file is written to a temporary name and renamed (:mod:`dlscope._io`), so a kill leaves whole
files; a resumed run rewrites the snapshots past its checkpoint with the same values (the steps
replay exactly).

The size is checked before training: (number of snapshots) × (bytes of one state dict) must stay
under ``snapshot_max_mb``, else :class:`SnapshotSizeError` says by how much, in one line.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from .._io import atomic_write_bytes
from .config import TrainConfig

__all__ = ["Snapshots", "SnapshotSizeError", "read_snapshots", "snapshot_steps"]

_NAME = re.compile(r"step_(\d+)\.safetensors")


class SnapshotSizeError(ValueError):
    """The snapshots a config asks for would exceed its ``snapshot_max_mb``."""


def snapshot_steps(every: int, max_steps: int) -> list[int]:
    """0, k, 2k, … and the last step: the steps whose θ a run with ``snapshot_every=k`` keeps."""
    steps = list(range(0, max_steps + 1, every))
    return steps if steps[-1] == max_steps else steps + [max_steps]


class Snapshots:
    """Writes θ_t at the planned steps (see :func:`snapshot_steps`) into ``folder``."""

    def __init__(self, folder: Path, every: int, max_steps: int):
        self.folder, self.every, self.max_steps = Path(folder), every, max_steps

    @classmethod
    def plan(cls, cfg: TrainConfig, run_dir: Path | None, model: torch.nn.Module, max_steps: int):
        """The writer a config asks for (None when ``snapshot_every`` is None), after the size check."""
        if cfg.snapshot_every is None:
            return None
        if run_dir is None:
            raise ValueError("snapshot_every needs a run directory to write the snapshots into (pass run_dir=)")
        n = len(snapshot_steps(cfg.snapshot_every, max_steps))
        one = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        need = n * one / 2 ** 20
        if need > cfg.snapshot_max_mb:
            raise SnapshotSizeError(
                f"snapshots: {n} snapshots × {one / 2 ** 20:.3g} MB = {need:.4g} MB exceed snapshot_max_mb="
                f"{cfg.snapshot_max_mb:g}; raise snapshot_every (≥ {math.ceil(cfg.snapshot_every * need / cfg.snapshot_max_mb)}"
                f" fits) or snapshot_max_mb")
        return cls(Path(run_dir) / "snapshots", cfg.snapshot_every, max_steps)

    def at(self, step: int, model: torch.nn.Module, last: bool = False) -> None:
        """Keep θ after ``step`` steps if the plan says so (``last``: the run's end, kept always)."""
        if step % self.every and step != self.max_steps and not last:
            return
        model = getattr(model, "_orig_mod", model)  # a torch.compile wrapper: its module's keys
        tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
        atomic_write_bytes(self.folder / f"step_{step:08d}.safetensors", save(tensors, metadata={"step": str(step)}))


def read_snapshots(run_dir: str | Path) -> list[tuple[int, dict]]:
    """[(step, state dict)] of a run directory's snapshots, in step order ([] if there are none)."""
    folder = Path(run_dir) / "snapshots"
    found = sorted((int(m.group(1)), p) for p in folder.glob("step_*.safetensors") if (m := _NAME.fullmatch(p.name)))
    return [(step, load_file(str(p))) for step, p in found]
