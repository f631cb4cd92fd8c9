"""dlscope — a laboratory for the theory of deep learning.

Train deep nets with SGD on real data (:mod:`dlscope.train`), measure what the theory
talks about (:mod:`dlscope.measure`), and reproduce the field's experiments with one
command each (``dlscope run NAME``; :mod:`dlscope.experiments`).

``import dlscope`` is cheap: the subpackages ``data``, ``models``, ``train``, ``measure`` are
imported on first use (``dlscope.measure.hessian`` works without an explicit import), and
nothing here imports torch, pandas or pyplot, or changes a plotting backend.
"""
import importlib as _importlib

from ._version import __version__

__all__ = ["data", "models", "train", "measure", "__version__"]
_LAZY = {"data", "models", "train", "measure", "experiments", "report", "theory"}


def __getattr__(name: str):
    if name in _LAZY:
        module = _importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'dlscope' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
