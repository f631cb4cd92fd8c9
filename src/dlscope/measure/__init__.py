"""Instruments: pure functions of (model, data) that return :class:`Result` objects.

Two families, each re-exported from its own API module:

* generalization (margins, operator norms, spectral complexity, bounds, flatness,
  the measure registry) — ``_api_generalization``;
* optimization (curvature operator, Lanczos, trace, spectral density, landscape
  slices, mode connectivity) — ``_api_curvature``.
"""
from .result import Result, to_jsonable
from ._state import preserved
from ._api_generalization import *  # noqa: F401,F403
from ._api_generalization import __all__ as _gen_all
from ._api_curvature import *  # noqa: F401,F403
from ._api_curvature import __all__ as _curv_all

__all__ = ["Result", "to_jsonable", "preserved", *_gen_all, *_curv_all]
