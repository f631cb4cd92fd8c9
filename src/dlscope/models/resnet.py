"""CIFAR-style ResNets of depth 6n+2 (He et al. 2016, §4.2), residual or plain.

Three stages of n basic blocks with 16w, 32w, 64w channels; the first block of stages
2 and 3 halves the resolution. A basic block computes h(x) = x + F(x) with
F = conv–norm–ReLU–conv–norm (``residual=True``) or h(x) = F(x) (``residual=False``,
the "plain" net of He et al.'s Fig. 6 whose training error grows with depth). Where
the shape changes, the shortcut is a 1×1 strided convolution (option B). With
``norm="none"`` the last conv of each residual branch starts at zero (Fixup-style) so
every block starts at the identity — the near-identity regime of Hardt & Ma 2017 and
Bartlett et al. 2018. Works on 1-D (mnist1d) and 2-D inputs.
"""
from __future__ import annotations

from torch import nn

from .base import DLModel, bn_cls, conv_cls, spatial

__all__ = ["ResNet", "BasicBlock"]


class BasicBlock(nn.Module):
    def __init__(self, dims, cin, cout, stride, residual, norm):
        super().__init__()
        Conv = conv_cls(dims)
        Norm = (lambda c: bn_cls(dims)(c)) if norm == "batch" else (lambda c: nn.Identity())
        self.residual = residual
        self.conv1 = Conv(cin, cout, 3, stride=stride, padding=1, bias=norm != "batch")
        self.n1 = Norm(cout)
        self.conv2 = Conv(cout, cout, 3, padding=1, bias=norm != "batch")
        self.n2 = Norm(cout)
        self.relu = nn.ReLU()
        self.shortcut = None
        if residual and (stride != 1 or cin != cout):
            self.shortcut = nn.Sequential(Conv(cin, cout, 1, stride=stride, bias=False), Norm(cout))
        if residual and norm == "none":
            nn.init.zeros_(self.conv2.weight)
            nn.init.zeros_(self.conv2.bias)

    def branch(self, x):
        return self.n2(self.conv2(self.relu(self.n1(self.conv1(x)))))

    def forward(self, x):
        out = self.branch(x)
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)


class ResNet(DLModel):
    def __init__(self, input_shape, num_classes, depth=20, residual=True, norm="batch", width=1):
        super().__init__()
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 with n >= 1, got {depth}")
        if norm not in ("batch", "none"):
            raise ValueError(f"norm must be 'batch' or 'none', got {norm!r}")
        self.input_shape = tuple(input_shape)
        self.spec = dict(depth=depth, residual=residual, norm=norm, width=width)
        dims, shape = spatial(self.input_shape)
        self._shape = shape
        n = (depth - 2) // 6
        c0 = 16 * width
        Conv = conv_cls(dims)
        self.stem = nn.Sequential(Conv(shape[0], c0, 3, padding=1, bias=norm != "batch"),
                                  bn_cls(dims)(c0) if norm == "batch" else nn.Identity(), nn.ReLU())
        blocks, c = [], c0
        for stage, cout in enumerate((c0, 2 * c0, 4 * c0)):
            for i in range(n):
                stride = 2 if (stage > 0 and i == 0) else 1
                blocks.append(BasicBlock(dims, c, cout, stride, residual, norm))
                c = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x.reshape(len(x), *self._shape)))
        return self.fc(self.pool(x).flatten(1))
