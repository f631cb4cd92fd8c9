"""What every dlscope model shares: its input shape and the build options it was made with (``spec``).

The layers of a model in forward order are found by the one tracer,
:func:`dlscope.measure.trace_layers`.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["DLModel", "conv_cls", "pool_cls", "bn_cls", "spatial"]


class DLModel(nn.Module):
    """Base of dlscope's models: remembers ``input_shape`` and ``spec`` (the build kwargs)."""

    input_shape: tuple[int, ...]
    spec: dict


def conv_cls(dims: int):
    return {1: nn.Conv1d, 2: nn.Conv2d}[dims]


def pool_cls(dims: int):
    return {1: nn.MaxPool1d, 2: nn.MaxPool2d}[dims]


def bn_cls(dims: int):
    return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims]


def spatial(input_shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """(spatial dims, shape with a channel axis): (40,) -> (1, (1, 40)); (3, 32, 32) -> (2, same)."""
    if len(input_shape) == 1:
        return 1, (1, input_shape[0])
    if len(input_shape) in (2, 3):
        return len(input_shape) - 1, tuple(input_shape)
    raise ValueError(f"unsupported input shape {input_shape}")
