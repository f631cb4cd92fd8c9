"""Deep linear residual network (Hardt & Ma 2017; Bartlett, Helmbold & Long 2018).

f(x) = R (I + A_L) ⋯ (I + A_1) x with every A_i initialised to zero, so the net starts
at the identity map. Near-identity theory says that a map near I factors into L
layers each within O(log L / L) of I. ``R`` is a linear readout to ``num_classes``
outputs, present only when the input dimension differs from ``num_classes``
(``readout=False`` forces a square, purely residual map).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import DLModel

__all__ = ["DeepLinear"]


class ResidualLinear(nn.Module):
    """x ↦ (I + A) x, A initialised to 0."""

    def __init__(self, d: int):
        super().__init__()
        self.A = nn.Linear(d, d, bias=False)
        nn.init.zeros_(self.A.weight)

    def forward(self, x):
        return x + self.A(x)


class DeepLinear(DLModel):
    def __init__(self, input_shape, num_classes, depth=8, readout=None):
        super().__init__()
        self.input_shape = tuple(input_shape)
        d = math.prod(input_shape)
        readout = (d != num_classes) if readout is None else readout
        if not readout and d != num_classes:
            raise ValueError(f"a square deep linear net needs input dim == num_classes ({d} != {num_classes})")
        self.spec = dict(depth=depth, readout=readout)
        self.blocks = nn.ModuleList(ResidualLinear(d) for _ in range(depth))
        self.readout = nn.Linear(d, num_classes, bias=False) if readout else None

    def forward(self, x):
        x = x.flatten(1)
        for b in self.blocks:
            x = b(x)
        return self.readout(x) if self.readout is not None else x

    def end_to_end(self) -> torch.Tensor:
        """The product (I + A_L) ⋯ (I + A_1) as a dense matrix."""
        d = self.blocks[0].A.weight.shape[0] if len(self.blocks) else math.prod(self.input_shape)
        m = torch.eye(d, dtype=next(self.parameters()).dtype)
        for b in self.blocks:
            m = (torch.eye(d, dtype=m.dtype) + b.A.weight) @ m
        return m
