"""Random-features regression (Rahimi & Recht 2008), the model of Belkin, Hsu, Ma & Mandal,
"Reconciling modern machine-learning practice and the classical bias–variance trade-off",
PNAS 2019 (Fig. 2: random Fourier features on MNIST; ReLU features in their appendix).

    h(x) = Σ_{j=1}^{N} a_j φ_j(x),   φ_j(x) = relu(⟨w_j, x⟩ + b_j) / √N,
    w_j ~ N(0, I_d / d),  b_j = 0, or b_j ~ N(0, 1) with ``bias=True``
    (drawn once, from the global torch RNG, and frozen).

Without a bias no feature is zero on a whole data set, so Φ has full rank min(n, N) and the
interpolation threshold is exactly N = n (with ``bias=True`` some features can be dead on the data,
which lowers the rank and moves the threshold to a slightly larger N).

Only the readout a (N × C) is fitted, by :meth:`RandomFeatures.solve_min_norm`: the minimum-norm
least-squares solution a = Φ⁺ Y (Φ the n × N feature matrix, Y the n × C targets). For N < n it
is the least-squares fit; for N ≥ n it interpolates, and among interpolants it has the smallest
‖a‖₂ — the solution gradient descent from a = 0 converges to. Its test risk peaks at N = n,
where Φ is square and its smallest singular value is near 0 ("double descent").
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import DLModel

__all__ = ["RandomFeatures"]


class RandomFeatures(DLModel):
    def __init__(self, input_shape, num_classes, features=100, bias=False):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.spec = dict(features=features, bias=bias)
        d = math.prod(self.input_shape)
        self.register_buffer("W", torch.randn(features, d) / math.sqrt(d))
        self.register_buffer("b", torch.randn(features) if bias else torch.zeros(features))
        self.readout = nn.Linear(features, num_classes, bias=False)
        nn.init.zeros_(self.readout.weight)  # a = 0: where gradient descent would start

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Φ(x), shape (n, N)."""
        return torch.relu(x.flatten(1).to(self.W.dtype) @ self.W.T + self.b) / math.sqrt(self.W.shape[0])

    def forward(self, x):
        return self.readout(self.features(x))

    @torch.no_grad()
    def solve_min_norm(self, x: torch.Tensor, targets: torch.Tensor) -> "RandomFeatures":
        """Set the readout to the minimum-norm least-squares fit Φ⁺ Y (in float64); returns self."""
        phi = self.features(x).double()
        a = torch.linalg.pinv(phi) @ targets.double()
        self.readout.weight.copy_(a.T.to(self.readout.weight.dtype))
        return self
