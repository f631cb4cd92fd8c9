"""Presets: one command per experiment of the literature, with its claims checked.

A preset is one module of this package (STYLE #20: a diff against one recipe) holding

* ``Config`` — a flat, frozen dataclass whose defaults are the recipe, every field commented
  with its unit and source, in the same order in every preset: data block, model block, SGD block
  (named like :class:`~dlscope.train.TrainConfig`), measurement block, claim tolerances, ``seeds``,
  ``device``;
* ``QUICK`` — overrides for a < 60 s CPU run;
* ``CLAIMS`` — the claims (and controls) it checks, declared once (:mod:`.claims`);
* ``recipe(cfg, *, seed, **grid_point) -> TrainConfig`` — the SGD recipe of one trained net;
* ``run(cfg, out, progress) -> summary`` — and a ``PRESET = Preset(...)`` record.

:func:`run_preset` gives every preset the same directory contract:

```
OUT/config.json  env.json  summary.json ("claims": [...])  report.md  report.html  figures/*.png
OUT/runs/<name>/  one training run directory per model trained (resumable, see dlscope.train)
```
A finished preset (``summary.json`` present, same config) is not run again; an unfinished one
resumes: finished training runs are skipped, the interrupted one continues from its checkpoint.

What :func:`run_preset` guarantees (issues 15 and 17):

* **nothing is written before everything is validated** — the Config (``recipe.check_config``),
  ``out`` (a writable directory or a path that can become one), and the data files (loaded once
  here; the arrays are cached, so the preset's own load costs nothing);
* **one process per ``out``**: an advisory lock (:func:`dlscope._io.hold_lock`); a second process
  gets a :class:`ConfigError` naming the holder; stale temporaries of a killed writer are removed;
* **integrity**: ``config.json`` and ``summary.json`` carry their SHA-256, the summary records the
  digest of every sub-run summary it was computed from (``"runs"``); a corrupt file is re-derived
  (a sub-run retrained, the summary recomputed) and ``notify`` gets one line saying so;
* **diverged runs** (:data:`dlscope.train.DIVERGENCE_FACTOR`): every literature claim becomes
  "not evaluable" with the runs named, and ``summary["diverged"]`` lists them (the CLI then exits
  1 with one line). If the preset's measurements fail on a diverged net, :class:`DivergedError`
  names the runs instead of the failure deep inside.
"""
from __future__ import annotations

import contextvars
import dataclasses
import importlib
import os
import pkgutil
import typing
from pathlib import Path
from typing import Any, Callable, Optional

from .._io import (BusyError, IntegrityError, hold_lock, json_digest, read_json, remove_stale_temporaries,
                   to_jsonable, write_json)
from ..data import SOURCES, load
from ..report import write_report
from ..train.rundir import environment
from .claims import NOT_EVALUABLE

__all__ = ["Preset", "PRESETS", "get", "parse_overrides", "run_preset", "ConfigError", "Progress", "discover",
           "make_config", "DivergedError", "record_run", "check_out"]

Progress = Callable[[str, int, int], None]  # (what, done, total)
# Modules of this package that are not presets.
_NOT_PRESETS = {"base", "claims", "stats", "recipe", "validate", "verify", "describe", "progress"}


class ConfigError(ValueError):
    """A bad ``--set`` key or value, or a run directory that cannot be used; one line for the user."""


class DivergedError(RuntimeError):
    """A preset's measurements failed after some of its runs diverged; one line naming them."""


@dataclasses.dataclass
class _RunLog:
    """What the sub-runs of the current :func:`run_preset` call reported (see :func:`record_run`)."""

    notify: Callable[[str], None]
    diverged: dict = dataclasses.field(default_factory=dict)  # run name -> reason
    runs: dict = dataclasses.field(default_factory=dict)      # run name -> sha256 of its summary.json


_LOG: contextvars.ContextVar[Optional[_RunLog]] = contextvars.ContextVar("dlscope_run_log", default=None)


def record_run(name: str, result, run_dir: Path) -> None:
    """Called by ``recipe.train_model`` for every trained net: its summary digest, divergence, re-derivation."""
    log = _LOG.get()
    if log is None:
        return
    if result.recovered:
        log.notify(result.recovered)
    if result.diverged:
        log.diverged[name] = result.diverged_reason or "diverged"
    log.runs[name] = json_digest(read_json(Path(run_dir) / "summary.json", required=True))


def _diverged_line(diverged: dict) -> str:
    return "runs diverged, claims not evaluable: " + "; ".join(f"{k} ({v})" for k, v in diverged.items())


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    title: str
    Config: type
    quick: dict
    claims: dict  # key -> ClaimSpec
    run: Callable[[Any, Path, Optional[Progress]], dict]
    subruns: Optional[Callable[[Any], int]] = None  # nets trained with a config: the "of N" in "run 3/9"

    def claim_lines(self) -> list[str]:
        return [s.text for s in self.claims.values() if not s.control]


PRESETS: dict[str, Preset] = {}


def discover() -> dict[str, Preset]:
    """Import every preset module of this package once (adding a preset is adding a file)."""
    if not PRESETS:
        for m in pkgutil.iter_modules([str(Path(__file__).parent)]):
            if m.name in _NOT_PRESETS or m.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{__package__}.{m.name}")
            preset = getattr(mod, "PRESET", None)
            if isinstance(preset, Preset):
                PRESETS[preset.name] = preset
    return PRESETS


def get(name: str) -> Preset:
    presets = discover()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(sorted(presets))}")
    return presets[name]


def _parse(raw: str, typ, key: str):
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin is typing.Union or (origin is not None and type(None) in args):
        if raw.lower() in ("none", "null", ""):
            return None
        return _parse(raw, next(a for a in args if a is not type(None)), key)
    if typ is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true/false, got {raw!r}")
    if typ in (int, float, str):
        try:
            return typ(raw)
        except ValueError:
            raise ConfigError(f"{key}: expected {typ.__name__}, got {raw!r}") from None
    if origin is tuple or typ is tuple:
        inner = args[0] if args else str
        items = [s for s in raw.replace(" ", "").strip("()[]").split(",") if s]
        return tuple(_parse(s, inner, key) for s in items)
    raise ConfigError(f"{key}: cannot parse values of type {typ}")


def parse_overrides(Config: type, pairs: dict[str, str] | list[str]) -> dict:
    """Turn ``["key=value", ...]`` into typed field values of ``Config``; unknown keys raise ConfigError."""
    if isinstance(pairs, list):
        d = {}
        for p in pairs:
            if "=" not in p:
                raise ConfigError(f"--set expects key=value, got {p!r}")
            k, v = p.split("=", 1)
            d[k.strip()] = v.strip()
        pairs = d
    hints = typing.get_type_hints(Config)
    fields = [f.name for f in dataclasses.fields(Config)]
    out = {}
    for k, v in pairs.items():
        if k not in hints or k not in fields:
            raise ConfigError(f"unknown key {k!r}; valid keys: {', '.join(fields)}")
        out[k] = _parse(v, hints[k], k)
    return out


def make_config(preset: Preset, overrides: dict | None = None, quick: bool = False):
    """The preset's Config with ``QUICK`` (if asked) and the overrides applied; validation errors → ConfigError."""
    values = {**(preset.quick if quick else {}), **(overrides or {})}
    try:
        return preset.Config(**values)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{preset.name}: {e}") from None


def check_out(out: Path) -> None:
    """``out`` must be a directory, or a path that can become one, that this process may write."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a directory")
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: {probe} is not a writable directory")


def _check_data(config) -> None:
    """Load a file-backed dataset once before anything is written: MissingDataError/DataFormatError now."""
    name = getattr(config, "data", None)
    if name in SOURCES:
        load(name, root=getattr(config, "data_root", None))


def run_preset(name: str, *, overrides: dict | None = None, quick: bool = False, out: str | Path,
               progress: Optional[Progress] = None, notify: Optional[Callable[[str], None]] = None) -> dict:
    """Run (or resume, or return the finished result of) preset ``name`` into ``out``.

    ``notify(line)`` receives one line per file that failed its integrity check and was re-derived
    (the library never prints). Returns the summary; ``summary["diverged"]`` names diverged runs.
    """
    preset = get(name)
    config = make_config(preset, overrides, quick)
    out = Path(out)
    check_out(out)
    _check_data(config)
    record = to_jsonable({"preset": name, "quick": quick, "config": dataclasses.asdict(config)})
    try:
        with hold_lock(out):
            return _run_locked(preset, config, record, out, progress, notify or (lambda line: None))
    except BusyError as e:
        raise ConfigError(str(e)) from None


def _run_locked(preset: Preset, config, record: dict, out: Path, progress, notify) -> dict:
    remove_stale_temporaries(out)
    cfg_path, sum_path = out / "config.json", out / "summary.json"
    if cfg_path.exists():
        try:
            held = read_json(cfg_path, required=True)
        except IntegrityError as e:
            notify(f"{e}; rewritten, the summary recomputed from the runs")
            held = None
            sum_path.unlink(missing_ok=True)
        if held is not None and held != record:
            raise ConfigError(f"{out} holds a {held.get('preset')} run with a different configuration; choose "
                              "another --out, or omit --out (the default folder is named after the configuration)")
        if held is not None and sum_path.exists():
            try:
                return read_json(sum_path, required=True)
            except IntegrityError as e:
                notify(f"{e}; recomputed from the runs")
    write_json(cfg_path, record, digest=True)
    write_json(out / "env.json", environment(getattr(config, "device", "cpu"), getattr(config, "dtype", "float32")),
               digest=True)
    log = _RunLog(notify)
    token = _LOG.set(log)
    try:
        summary = preset.run(config, out, progress)
    except Exception as e:
        if log.diverged:  # measuring a diverged net fails in many ways; the cause is the divergence
            raise DivergedError(_diverged_line(log.diverged)) from e
        raise
    finally:
        _LOG.reset(token)
    summary = {"preset": preset.name, "title": preset.title, "quick": record["quick"], **summary}
    if log.diverged:
        reason = _diverged_line(log.diverged)
        summary["claims"] = [{**c, "status": NOT_EVALUABLE, "held": None, "reason": reason}
                             if c.get("kind", "claim") == "claim" else c for c in summary.get("claims", [])]
    summary["diverged"] = [f"{k} ({v})" for k, v in log.diverged.items()]
    summary["runs"] = log.runs
    write_report(out, summary)
    write_json(sum_path, summary, digest=True)
    return summary
