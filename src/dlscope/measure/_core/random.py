"""Seeded random draws shared by the instruments.

Draws are made on the CPU from a ``torch.Generator`` and then moved, so a seed means the
same numbers on every device.
"""
from __future__ import annotations

import torch

__all__ = ["rademacher", "normal_like", "generator"]


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def rademacher(n: int, m: int | None, gen: torch.Generator, device=None) -> torch.Tensor:
    """Entries ±1 with probability ½ each, float64, shape (n, m) (or (n,) when m is None)."""
    shape = (n,) if m is None else (n, m)
    return (torch.randint(0, 2, shape, generator=gen, dtype=torch.float64) * 2 - 1).to(device)


def normal_like(tensors, gen: torch.Generator) -> list:
    """One draw z ~ N(0, I) shaped like each of ``tensors``, on their device and dtype."""
    return [torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.device, t.dtype) for t in tensors]
