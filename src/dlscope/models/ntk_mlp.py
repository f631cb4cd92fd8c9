"""A ReLU MLP in NTK parameterization (Jacot, Gabriel & Hongler 2018, §2), with an output scale.

    h_1 = W_1 x / √d,   h_{l+1} = W_{l+1} σ(h_l) / √m,   f(x) = α · A σ(h_L) / √m,

σ = ReLU, ``depth`` = L hidden layers of ``width`` m (depth 1: the two-layer net
f(x) = (α/√m) Σ_j a_j σ(w_jᵀx/√d); depth 2: three layers), no biases, every weight N(0, 1)
(the 1/√fan-in lives in the forward pass, not in the initialization, so the NTK has a limit as
m → ∞). ``alpha`` is Chizat, Oyallon & Bach 2019's scale of the model; ``center=True`` returns
α (g(x; θ) − g(x; θ0)) with θ0 the initial weights, kept as buffers, so the output at
initialization is exactly 0 for every α (their condition h(w0) = 0 for lazy training). The
infinite-width kernel of this net is ``dlscope.measure.relu_ntk``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import DLModel

__all__ = ["NTKMLP"]


class NTKMLP(DLModel):
    def __init__(self, input_shape, num_classes, width=1024, depth=1, alpha=1.0, center=False):
        super().__init__()
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be ≥ 1, got {width} and {depth}")
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.input_shape = tuple(input_shape)
        self.spec = dict(width=width, depth=depth, alpha=alpha, center=center)
        d = math.prod(self.input_shape)
        sizes = [d] + [width] * depth
        self.hidden = nn.ParameterList([nn.Parameter(torch.randn(o, i)) for i, o in zip(sizes, sizes[1:])])
        self.readout = nn.Parameter(torch.randn(num_classes, width))
        self.alpha, self.center = float(alpha), bool(center)
        if center:
            for k, w in enumerate(self.hidden):
                self.register_buffer(f"init_hidden_{k}", w.detach().clone())
            self.register_buffer("init_readout", self.readout.detach().clone())

    @staticmethod
    def _g(x, hidden, readout):
        h = x
        for w in hidden:
            h = torch.relu(h @ w.T / math.sqrt(w.shape[1]))
        return h @ readout.T / math.sqrt(readout.shape[1])

    def forward(self, x):
        x = x.flatten(1)
        out = self._g(x, list(self.hidden), self.readout)
        if self.center:
            init = [getattr(self, f"init_hidden_{k}") for k in range(len(self.hidden))]
            out = out - self._g(x, init, self.init_readout)
        return self.alpha * out
