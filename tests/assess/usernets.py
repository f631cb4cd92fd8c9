"""User-style models for the ``dlscope measure`` tests (imported by path: ``usernets.py:TinyResNet``).

Nothing here comes from dlscope: a small residual net with BatchNorm and a functional skip
connection, a plain chain, and a class that is only picklable, to be refused.
"""
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(h)))


class TinyResNet(nn.Module):
    """A 2-block ResNet for 1×8×8 inputs."""

    def __init__(self, width: int = 4, num_classes: int = 3):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.blocks = nn.Sequential(Block(width), Block(width))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.pool(self.blocks(torch.relu(self.stem(x)))).flatten(1))


class PlainNet(nn.Module):
    """A chain: conv, ReLU, max-pool, linear (1×8×8 inputs)."""

    def __init__(self, width: int = 4, num_classes: int = 3):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(width * 16, num_classes))

    def forward(self, x):
        return self.net(x)


class Settings:
    """A custom class a careless checkpoint pickles next to its weights."""

    def __init__(self, lr: float = 0.1):
        self.lr = lr


class Hostile:
    """Unpickling this would create the folder ``path``: the refusal must run none of it."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        import os

        return (os.makedirs, (self.path,))
