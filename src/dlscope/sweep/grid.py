"""A sweep's grid: a preset, fixed overrides, a grid of values, seeds — and the tasks it expands to.

A **cell** is one grid point; a **task** is one cell with one seed, i.e. one preset run with
``seeds=(s,)`` in its own directory, ``OUT/cells/<cell>/seed<s>/`` (the layout of
:func:`~dlscope.experiments.run_preset`). A task is finished iff its ``summary.json`` exists and
its ``config.json`` equals the record ``run_preset`` writes for that configuration — the run
directories decide what is done, so a rerun on any executor skips finished tasks and resumes the
interrupted ones (each preset resumes its own training runs from their checkpoints).

``OUT/sweep.json`` records the sweep (preset, ``--quick``, ``--set`` overrides, grid, seeds). A
rerun with the same preset, quick flag and overrides may change the grid or the seeds (cells
whose configuration is unchanged are reused); anything else in the same ``OUT`` is refused.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from pathlib import Path

from .._io import read_json, to_jsonable, write_json
from .._version import __version__
from ..experiments import ConfigError, get, make_config, parse_overrides

__all__ = ["SweepSpec", "Task", "parse_grid", "parse_seeds", "load_spec", "cell_name"]

_SAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


@dataclasses.dataclass(frozen=True)
class Task:
    """One cell (grid point) with one seed: the preset run in ``out``."""

    cell: str            # the cell's folder name, e.g. "lr=0.01,width=16"
    point: dict          # grid key -> typed value
    seed: int
    overrides: dict      # everything run_preset gets: --set, the grid point, seeds=(seed,)
    out: Path

    @property
    def label(self) -> str:
        return f"{self.cell} seed {self.seed}"

    def record(self, preset: str, quick: bool) -> dict:
        """What ``run_preset`` writes into ``config.json`` for this task."""
        config = make_config(get(preset), self.overrides, quick)
        return to_jsonable({"preset": preset, "quick": quick, "config": dataclasses.asdict(config)})

    def done(self, preset: str, quick: bool) -> bool:
        """Finished: ``summary.json`` present and ``config.json`` equal to this task's record."""
        if not (self.out / "summary.json").exists() or not (self.out / "config.json").exists():
            return False
        try:
            return read_json(self.out / "config.json") == self.record(preset, quick)
        except (OSError, ValueError):
            return False


def _value_text(v) -> str:
    if isinstance(v, tuple):
        return "-".join(_value_text(x) for x in v)
    return str(v).lower() if isinstance(v, bool) or v is None else str(v)


def cell_name(point: dict) -> str:
    """A readable, file-safe folder name for a grid point ("base" for the empty grid); a short hash is
    appended when characters had to be replaced or the name is long, so names never collide."""
    if not point:
        return "base"
    text = ",".join(f"{k}={_value_text(v)}" for k, v in point.items())
    safe = _SAFE.sub("_", text)
    if safe != text or len(safe) > 80:
        digest = hashlib.sha256(json.dumps(to_jsonable(point), sort_keys=True).encode()).hexdigest()[:8]
        safe = f"{safe[:60]}-{digest}"
    return safe


def parse_grid(Config: type, items: list[str]) -> dict:
    """``["lr=0.01,0.02", "width=16,32"]`` -> {"lr": [0.01, 0.02], "width": [16, 32]}, typed by the Config.

    Values are separated by commas; for a key whose values are themselves lists, separate the values
    by ``|`` (``fractions=0,1|0,0.5,1``). ``seeds`` is not a grid key (use ``--seeds``).
    """
    grid: dict = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--grid expects key=v1,v2,..., got {item!r}")
        key, raw = (s.strip() for s in item.split("=", 1))
        if key == "seeds":
            raise ConfigError("seeds are not a grid key; use --seeds N or --seeds 0,1,2")
        if key in grid:
            raise ConfigError(f"--grid {key} given twice")
        parts = [p for p in (raw.split("|") if "|" in raw else raw.split(",")) if p.strip()]
        if not parts:
            raise ConfigError(f"--grid {key}: no values")
        values = [parse_overrides(Config, {key: p.strip()})[key] for p in parts]
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"--grid {key}: a value is repeated")
        grid[key] = values
    return grid


def parse_seeds(text: str | None, default: tuple) -> tuple:
    """``"5"`` -> (0, 1, 2, 3, 4); ``"0,7,9"`` -> (0, 7, 9); None -> the preset's seeds."""
    if text is None:
        return tuple(default)
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            seeds = tuple(range(int(text)))
    except ValueError:
        raise ConfigError(f"--seeds expects a count (5) or a list (0,1,2), got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds must give at least one distinct non-negative seed, got {text!r}")
    return seeds


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A sweep: ``preset`` with ``overrides`` (typed, from --set), ``grid`` (key -> values) × ``seeds``."""

    preset: str
    quick: bool
    overrides: dict
    grid: dict
    seeds: tuple

    def __post_init__(self):
        preset = get(self.preset)
        for point in self.points():  # every cell's configuration validates before anything is written
            make_config(preset, {**self.overrides, **point, "seeds": (self.seeds[0],)}, self.quick)

    def points(self) -> list[dict]:
        keys = list(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(self.grid[k] for k in keys))]

    def tasks(self, out: str | Path) -> list[Task]:
        """Every (cell, seed) task, cells in grid order, seeds inner."""
        out = Path(out)
        return [Task(cell_name(p), p, s, {**self.overrides, **p, "seeds": (s,)}, out / "cells" / cell_name(p) / f"seed{s}")
                for p in self.points() for s in self.seeds]

    def record(self) -> dict:
        return to_jsonable({"preset": self.preset, "quick": self.quick, "set": self.overrides, "grid": self.grid,
                            "seeds": list(self.seeds), "dlscope": __version__})

    def write(self, out: str | Path) -> None:
        """Write ``OUT/sweep.json``, refusing an ``OUT`` that holds another preset, --quick or --set."""
        path = Path(out) / "sweep.json"
        if path.exists():
            old, new = read_json(path), self.record()
            if any(old.get(k) != new[k] for k in ("preset", "quick", "set")):
                raise ConfigError(f"{out} holds a sweep of {old.get('preset')} with other --quick/--set settings; "
                                  "choose another --out")
        write_json(path, self.record())


def load_spec(out: str | Path) -> SweepSpec:
    """The sweep recorded in ``OUT/sweep.json`` (values re-typed by the preset's Config)."""
    path = Path(out) / "sweep.json"
    if not path.exists():
        raise ConfigError(f"{out} is not a sweep folder (no sweep.json); run dlscope sweep first")
    rec = read_json(path)
    Config = get(rec["preset"]).Config
    typed = lambda k, v: parse_overrides(Config, {k: _raw(v)})[k]  # noqa: E731
    return SweepSpec(rec["preset"], rec["quick"], {k: typed(k, v) for k, v in rec["set"].items()},
                     {k: [typed(k, v) for v in vs] for k, vs in rec["grid"].items()}, tuple(rec["seeds"]))


def _raw(v) -> str:
    """A JSON value back into the text ``parse_overrides`` reads."""
    if isinstance(v, list):
        return ",".join(_raw(x) for x in v)
    return "none" if v is None else str(v)
