"""Multilayer perceptron: x ↦ W_L σ(… σ(W_1 x)), σ ∈ {ReLU, sigmoid, tanh}, optional dropout."""
from __future__ import annotations

import math

from torch import nn

from .base import DLModel

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class MLP(DLModel):
    def __init__(self, input_shape, num_classes, widths=(512, 512), activation="relu", dropout=0.0, bias=True):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        self.input_shape = tuple(input_shape)
        self.spec = dict(widths=tuple(widths), activation=activation, dropout=dropout, bias=bias)
        layers: list[nn.Module] = [nn.Flatten()]
        d = math.prod(input_shape)
        for w in widths:
            layers += [nn.Linear(d, w, bias=bias), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            d = w
        layers.append(nn.Linear(d, num_classes, bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
