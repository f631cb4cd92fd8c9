"""Models: ``build(name, input_shape=..., num_classes=..., **kw)`` for every architecture dlscope trains."""
from __future__ import annotations

import inspect

from torch import nn

from .base import DLModel
from .cnn import CNN, Conv1dNet, InceptionSmall
from .linear import DeepLinear
from .mlp import MLP
from .ntk_mlp import NTKMLP
from .resnet import ResNet

__all__ = ["build", "MODELS", "DLModel", "MLP", "CNN", "Conv1dNet", "InceptionSmall",
           "ResNet", "DeepLinear", "model_kwargs"]

MODELS = {"mlp": MLP, "cnn": CNN, "conv1d": Conv1dNet, "inception-small": InceptionSmall,
          "resnet": ResNet, "deep-linear": DeepLinear}
MODELS["ntk-mlp"] = NTKMLP  # issue 18: NTK parameterization, output scale α


def model_kwargs(name: str) -> dict:
    """The keyword arguments ``build(name, ...)`` accepts, with their defaults."""
    sig = inspect.signature(MODELS[name].__init__)
    return {k: p.default for k, p in sig.parameters.items() if k not in ("self", "input_shape", "num_classes")}


def build(name: str, *, input_shape, num_classes: int, **kw) -> nn.Module:
    """Build model ``name``; unknown names or keyword arguments raise a ValueError listing the valid ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    valid = model_kwargs(name)
    bad = set(kw) - set(valid)
    if bad:
        raise ValueError(f"model {name!r} has no option(s) {sorted(bad)}; valid: {sorted(valid)}")
    return MODELS[name](tuple(input_shape), num_classes, **kw)
