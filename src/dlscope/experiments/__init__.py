"""Experiments: presets that reproduce the field's experiments, one command each."""
from .base import PRESETS, Claim, ConfigError, Preset, get, parse_overrides, register, run_preset
from . import zhang2017  # noqa: F401  (registers the preset)

__all__ = ["PRESETS", "Claim", "ConfigError", "Preset", "get", "parse_overrides", "register", "run_preset"]
