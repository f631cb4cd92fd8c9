"""Experiments: presets that reproduce the field's experiments, one command each."""
from .base import PRESETS, Claim, ConfigError, Preset, get, parse_overrides, register, run_preset
from . import keskar2017, zhang2017  # noqa: F401  (register the presets)

__all__ = ["PRESETS", "Claim", "ConfigError", "Preset", "get", "parse_overrides", "register", "run_preset"]
