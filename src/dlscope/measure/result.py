"""The return type of every measurement: a value with its uncertainty and its settings.

STYLE #7: stochastic estimators never return a bare float. A :class:`Result` carries
the estimate, its standard error (``None`` for exact quantities), the settings it was
computed with (seed, batch-norm mode, dtype, ...) and any extra arrays (residuals,
per-layer values), and serializes to JSON.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

__all__ = ["Result", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert tensors, arrays, numpy scalars and dataclasses into JSON-ready Python values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return repr(obj)


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
