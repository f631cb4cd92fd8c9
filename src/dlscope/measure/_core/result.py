"""The return type of every measurement: a value with its uncertainty and its settings.

STYLE #7: stochastic estimators never return a bare float. A :class:`Result` carries
the estimate, its standard error (``None`` for exact quantities), the settings it was
computed with (seed, batch-norm mode, dtype, ...) and any extra arrays (residuals,
per-layer values), and serializes to JSON.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..._io import to_jsonable

__all__ = ["Result"]


@dataclasses.dataclass(frozen=True)
class Result:
    """A measured quantity.

    Attributes:
        name: what was measured (e.g. ``"trace"``, ``"spectral_complexity"``).
        value: the estimate (float, or a tensor/array/list for vector-valued results).
        stderr: its standard error, ``None`` when the quantity is exact.
        settings: everything needed to reproduce it (seed, mode flags, dtype, sizes).
        extra: secondary outputs (per-layer norms, residuals, convergence flags).
    """

    name: str
    value: Any
    stderr: Any = None
    settings: dict = dataclasses.field(default_factory=dict)
    extra: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        return to_jsonable(self)

    def __float__(self) -> float:
        return float(self.value)
