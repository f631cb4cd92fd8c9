"""Presets: one command per experiment of the literature, with its claims checked.

A preset is a frozen ``Config`` dataclass whose defaults are the recipe (STYLE #9), a
``quick`` dict of overrides for a < 60 s CPU run, the claims it checks, and
``run(config, out, progress) -> summary``. :func:`run_preset` gives every preset the
same directory contract:

```
OUT/config.json  env.json  summary.json ("claims": [...])  report.md  report.html  figures/*.png
OUT/runs/<name>/  one training run directory per model trained (resumable, see dlscope.train)
```
A finished preset (``summary.json`` present, same config) is not run again; an
unfinished one resumes: finished training runs are skipped, the interrupted one
continues from its last checkpoint.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Callable, Optional

from ..measure.result import to_jsonable
from ..train.rundir import environment, read_json, write_json

__all__ = ["Claim", "Preset", "register", "get", "PRESETS", "parse_overrides", "run_preset", "ConfigError",
           "Progress"]

Progress = Callable[[str, int, int], None]  # (what, done, total)


class ConfigError(ValueError):
    """A bad ``--set`` key or value; the message lists the valid keys."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """One literature claim checked on this run. ``held`` is computed, never asserted."""

    claim: str
    source: str
    expected: Any
    measured: Any
    held: bool

    def to_json(self) -> dict:
        return to_jsonable(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    title: str
    claims: tuple[str, ...]
    Config: type
    quick: dict
    run: Callable[[Any, Path, Optional[Progress]], dict]


PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    PRESETS[preset.name] = preset
    return preset


def get(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


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


def run_preset(name: str, *, overrides: dict | None = None, quick: bool = False, out: str | Path,
               progress: Optional[Progress] = None) -> dict:
    """Run (or resume, or return the finished result of) preset ``name`` into ``out``."""
    preset = get(name)
    values = {**(preset.quick if quick else {}), **(overrides or {})}
    try:
        config = preset.Config(**values)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{name}: {e}") from None
    out = Path(out)
    record = {"preset": name, "quick": quick, "config": dataclasses.asdict(config)}
    if (out / "config.json").exists():
        if read_json(out / "config.json") != to_jsonable(record):
            raise ConfigError(f"{out} holds a {read_json(out / 'config.json').get('preset')} run with a different "
                              f"configuration; choose another --out")
        if (out / "summary.json").exists():
            return read_json(out / "summary.json")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", record)
    write_json(out / "env.json", environment(getattr(config, "device", "cpu"), getattr(config, "dtype", "float32")))
    summary = preset.run(config, out, progress)
    summary = {"preset": name, "title": preset.title, "quick": quick, **summary}
    from ..report.html import write_report

    write_report(out, summary)
    write_json(out / "summary.json", summary)
    return summary
