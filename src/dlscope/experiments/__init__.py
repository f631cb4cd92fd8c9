"""Experiments: presets that reproduce the field's experiments, one command each.

Every module of this package other than ``base``, ``claims``, ``stats``, ``recipe``, ``validate``,
``verify``, ``describe`` and ``progress`` is one preset (its ``PRESET`` record); :func:`discover` imports them on first use, so
adding a preset is adding a file. See :mod:`.base` for what a preset module holds.
"""
from .base import (PRESETS, ConfigError, DivergedError, Preset, discover, get, make_config, parse_overrides,
                   run_preset)
from .claims import Claim, ClaimSpec, declare

__all__ = ["PRESETS", "Preset", "ConfigError", "DivergedError", "discover", "get", "make_config",
           "parse_overrides", "run_preset", "Claim", "ClaimSpec", "declare"]
