"""Experiments: presets that reproduce the field's experiments, one command each.

Every module of this package other than ``base`` and ``common`` defines one or more
presets and registers them on import; they are all imported here, so adding a preset
is adding a file.
"""
import importlib
import pkgutil

from .base import PRESETS, Claim, ConfigError, Preset, get, parse_overrides, register, run_preset

for _m in pkgutil.iter_modules(__path__):
    if _m.name not in ("base", "common") and not _m.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["PRESETS", "Claim", "ConfigError", "Preset", "get", "parse_overrides", "register", "run_preset"]
