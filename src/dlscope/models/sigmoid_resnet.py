"""A small residual network of sigmoid units on ℝ^d (Bartlett, Evans & Long 2018, §5; the seed talk's
h_i(x) = x + A σ(B x)).

Every block computes h_i(x) = x + A_i (σ(B_i x) − ½): sigmoid units centred so that h_i(0) = 0 (the
induced-norm function space of BEL's functional-gradient theorem needs it; σ(v) − ½ = ½ tanh(v/2)).
With A_i = 0 (the default initialization, ``init_scale`` = 0) every block is the identity. The
output is the last block's output: a regression map ℝ^d → ℝ^d (``num_classes`` must equal d).
Each block's residual branch is ``block.branch`` (Linear → centred sigmoid → Linear, no biases), so
``dlscope.measure.identity_gap`` reads ‖h_i − Id‖_L ≤ ‖A_i‖ ‖B_i‖ / 4 from it.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import DLModel

__all__ = ["SigmoidResNet", "CenteredSigmoid"]


class CenteredSigmoid(nn.Sigmoid):
    """v ↦ σ(v) − ½: a sigmoid (so the layer tracer knows its Lipschitz constant, ¼) through the origin."""

    def forward(self, x):
        return torch.sigmoid(x) - 0.5


class SigmoidBlock(nn.Module):
    def __init__(self, d: int, width: int, init_scale: float):
        super().__init__()
        self.branch = nn.Sequential(nn.Linear(d, width, bias=False), CenteredSigmoid(), nn.Linear(width, d, bias=False))
        nn.init.normal_(self.branch[0].weight, std=1.0 / math.sqrt(d))
        nn.init.normal_(self.branch[2].weight, std=init_scale / math.sqrt(width))

    def forward(self, x):
        return x + self.branch(x)


class SigmoidResNet(DLModel):
    def __init__(self, input_shape, num_classes, depth=2, width=1, init_scale=0.0):
        super().__init__()
        d = math.prod(input_shape)
        if num_classes != d:
            raise ValueError(f"a residual map ℝ^d → ℝ^d needs num_classes == input dim ({num_classes} != {d})")
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be ≥ 1, got {depth}, {width}")
        self.input_shape = tuple(input_shape)
        self.spec = dict(depth=depth, width=width, init_scale=init_scale)
        self.blocks = nn.Sequential(*(SigmoidBlock(d, width, init_scale) for _ in range(depth)))

    def forward(self, x):
        return self.blocks(x.flatten(1))
