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
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from pathlib import Path
from typing import Any, Callable, Optional

from .._io import read_json, to_jsonable, write_json
from ..report import write_report
from ..train.rundir import environment

__all__ = ["Preset", "PRESETS", "get", "parse_overrides", "run_preset", "ConfigError", "Progress", "discover",
           "make_config"]

Progress = Callable[[str, int, int], None]  # (what, done, total)
# Modules of this package that are not presets.
_NOT_PRESETS = {"base", "claims", "stats", "recipe", "describe", "progress"}


class ConfigError(ValueError):
    """A bad ``--set`` key or value, or a run directory that cannot be used; one line for the user."""


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    title: str
    Config: type
    quick: dict
    claims: dict  # key -> ClaimSpec
    run: Callable[[Any, Path, Optional[Progress]], dict]

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


def run_preset(name: str, *, overrides: dict | None = None, quick: bool = False, out: str | Path,
               progress: Optional[Progress] = None) -> dict:
    """Run (or resume, or return the finished result of) preset ``name`` into ``out``."""
    preset = get(name)
    config = make_config(preset, overrides, quick)
    out = Path(out)
    record = {"preset": name, "quick": quick, "config": dataclasses.asdict(config)}
    if (out / "config.json").exists():
        if read_json(out / "config.json") != to_jsonable(record):
            raise ConfigError(f"{out} holds a {read_json(out / 'config.json').get('preset')} run with a different "
                              f"configuration; choose another --out, or omit --out (the default folder is named after the configuration)")
        if (out / "summary.json").exists():
            return read_json(out / "summary.json")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", record)
    write_json(out / "env.json", environment(getattr(config, "device", "cpu"), getattr(config, "dtype", "float32")))
    summary = preset.run(config, out, progress)
    summary = {"preset": name, "title": preset.title, "quick": quick, **summary}
    write_report(out, summary)
    write_json(out / "summary.json", summary)
    return summary

