"""Convolutional nets of the random-label experiments (Zhang et al. 2017, Appendix A).

* ``cnn`` — the small AlexNet: blocks conv(k×k) → ReLU → max-pool(3, stride 2), no local
  response normalization, then two hidden fully connected layers (384, 192 in the
  paper) with optional dropout. Works on 1-D (mnist1d) and 2-D inputs. ``activation``
  (relu | tanh | sigmoid) and ``pool`` (max | avg, same window and stride) swap the
  ingredients Bubeck's recipe ablates (``bubeck-recipe``).
* ``conv1d`` — the MNIST-1D reference CNN (Greydanus 2020): three strided conv1d–ReLU
  layers, then a linear classifier.
* ``inception-small`` — Zhang et al.'s small Inception for CIFAR-10 (their Fig. 3):
  Conv = conv–BN–ReLU; Inception(a, b) = concat[Conv1×1(a), Conv3×3(b)];
  Downsample(b) = concat[Conv3×3/2(b), maxpool3×3/2]; global average pooling, linear.
"""
from __future__ import annotations


import torch
from torch import nn

from .base import DLModel, conv_cls, pool_cls, bn_cls, spatial
from .mlp import ACTIVATIONS

__all__ = ["CNN", "Conv1dNet", "InceptionSmall"]


def _flat_dim(body: nn.Module, shape) -> int:
    with torch.no_grad():
        return int(body(torch.zeros(1, *shape)).flatten(1).shape[1])


class CNN(DLModel):
    def __init__(self, input_shape, num_classes, channels=(64, 64), kernel=5, fc=(384, 192), dropout=0.0,
                 activation="relu", pool="max"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
        self.input_shape = tuple(input_shape)
        self.spec = dict(channels=tuple(channels), kernel=kernel, fc=tuple(fc), dropout=dropout)
        # recorded only when changed: run directories written before these options existed still resume
        for key, value, default in (("activation", activation, "relu"), ("pool", pool, "max")):
            if value != default:
                self.spec[key] = value
        dims, shape = spatial(self.input_shape)
        self._shape = shape
        Conv, Act = conv_cls(dims), ACTIVATIONS[activation]
        Pool = pool_cls(dims) if pool == "max" else {1: nn.AvgPool1d, 2: nn.AvgPool2d}[dims]
        layers: list[nn.Module] = []
        c = shape[0]
        for ch in channels:
            layers += [Conv(c, ch, kernel, padding=kernel // 2), Act(), Pool(3, stride=2, padding=1)]
            c = ch
        self.features = nn.Sequential(*layers)
        d = _flat_dim(self.features, shape)
        head: list[nn.Module] = [nn.Flatten()]
        for w in fc:
            head += [nn.Linear(d, w), Act()]
            if dropout:
                head.append(nn.Dropout(dropout))
            d = w
        head.append(nn.Linear(d, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        return self.classifier(self.features(x.reshape(len(x), *self._shape)))


class Conv1dNet(DLModel):
    def __init__(self, input_shape, num_classes, channels=25, layers=3, kernel=5):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.spec = dict(channels=channels, layers=layers, kernel=kernel)
        dims, shape = spatial(self.input_shape)
        if dims != 1:
            raise ValueError(f"conv1d expects 1-D inputs (length,) or (channels, length), got {input_shape}")
        self._shape = shape
        mods: list[nn.Module] = []
        c = shape[0]
        for _ in range(layers):
            mods += [nn.Conv1d(c, channels, kernel, stride=2, padding=kernel // 2), nn.ReLU()]
            c = channels
        self.features = nn.Sequential(*mods)
        self.classifier = nn.Linear(_flat_dim(self.features, shape), num_classes)

    def forward(self, x):
        return self.classifier(self.features(x.reshape(len(x), *self._shape)).flatten(1))


class _ConvBNReLU(nn.Sequential):
    def __init__(self, dims, cin, cout, k, stride=1):
        super().__init__(conv_cls(dims)(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                         bn_cls(dims)(cout), nn.ReLU())


class _Inception(nn.Module):
    def __init__(self, dims, cin, a, b):
        super().__init__()
        self.b1 = _ConvBNReLU(dims, cin, a, 1)
        self.b3 = _ConvBNReLU(dims, cin, b, 3)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x)], 1)


class _Downsample(nn.Module):
    def __init__(self, dims, cin, b):
        super().__init__()
        self.conv = _ConvBNReLU(dims, cin, b, 3, stride=2)
        self.pool = pool_cls(dims)(3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


class InceptionSmall(DLModel):
    # (kind, a, b) exactly as in Zhang et al. 2017, Figure 3; widths scale by `width`.
    PLAN = [("I", 32, 32), ("I", 32, 48), ("D", 0, 80), ("I", 112, 48), ("I", 96, 64), ("I", 80, 80),
            ("I", 48, 96), ("D", 0, 96), ("I", 176, 160), ("I", 176, 160)]

    def __init__(self, input_shape, num_classes, width=1.0):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.spec = dict(width=width)
        dims, shape = spatial(self.input_shape)
        self._shape = shape
        s = lambda c: max(1, int(round(c * width)))  # noqa: E731
        mods: list[nn.Module] = [_ConvBNReLU(dims, shape[0], s(96), 3)]
        c = s(96)
        for kind, a, b in self.PLAN:
            if kind == "I":
                mods.append(_Inception(dims, c, s(a), s(b)))
                c = s(a) + s(b)
            else:
                mods.append(_Downsample(dims, c, s(b)))
                c = c + s(b)
        self.features = nn.Sequential(*mods)
        self.pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x.reshape(len(x), *self._shape))).flatten(1))
