"""Data augmentation of a whole minibatch in a few tensor ops (the standard CIFAR recipe).

2-D images ``(N, C, H, W)``: zero-pad by 4 on every side, crop an H×W window at a random
offset (dy, dx) ∈ {0, …, 8}², and flip horizontally with probability ½ (He et al. 2016, §4.2;
Zhang et al. 2017 use the same crops for their "with augmentation" column). 1-D signals
``(N, L)`` or ``(N, C, L)``: zero-pad by 4 and take a window of length L at a random offset
d ∈ {0, …, 8}, i.e. a shift by d − 4 positions. Anything else is returned unchanged.

The random draws come from the CPU generator ``g`` in a fixed order — images:
``randint(0, 9, (2, N))`` (row 0 = dx, row 1 = dy) then ``rand(N) < ½`` for the flip; signals:
``randint(0, 9, (N,))`` — so a step's augmentation is a function of the generator's seed
alone, on any device. :func:`augment` takes the crop with one gather at per-sample offsets
(the flip is the same gather read right to left), which copies exactly the values the
per-image loop :func:`augment_reference` copies: the two are bit-identical (tested), so
runs and resumed runs replay the same steps as before the batched version existed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["augment", "augment_reference", "PAD"]

PAD = 4  # zero padding on each side, in pixels (samples for 1-D); offsets are 0 … 2·PAD


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random crop after zero-padding by 4 and a horizontal flip with probability ½ (4-D);
    a random shift of up to 4 positions (2-D/3-D); identity otherwise. Whole batch at once."""
    if x.dim() == 4:
        n, c, h, w = x.shape
        dx, dy = torch.randint(0, 2 * PAD + 1, (2, n), generator=g).to(x.device)
        flip = (torch.rand(n, generator=g) < 0.5).to(x.device)
        pad = F.pad(x, (PAD, PAD, PAD, PAD))
        wp = w + 2 * PAD
        rows = dy[:, None] + torch.arange(h, device=x.device)                       # (n, h)
        j = torch.arange(w, device=x.device)
        cols = dx[:, None] + torch.where(flip[:, None], w - 1 - j, j)               # (n, w), reversed if flipped
        flat = (rows[:, :, None] * wp + cols[:, None, :]).reshape(n, 1, h * w)      # index into padded H·W plane
        out = pad.reshape(n, c, -1).gather(2, flat.expand(n, c, h * w))
        return out.reshape(n, c, h, w)
    if x.dim() in (2, 3):
        L = x.shape[-1]
        d = torch.randint(0, 2 * PAD + 1, (len(x),), generator=g).to(x.device)
        pad = F.pad(x, (PAD, PAD))
        idx = d[:, None] + torch.arange(L, device=x.device)                         # (n, L)
        if x.dim() == 3:
            idx = idx[:, None, :].expand(len(x), x.shape[1], L)
        return pad.gather(-1, idx)
    return x


def augment_reference(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """The same augmentation one example at a time (the definition :func:`augment` is tested against)."""
    if x.dim() == 4:
        n, _, h, w = x.shape
        pad = F.pad(x, (PAD, PAD, PAD, PAD))
        dx, dy = torch.randint(0, 2 * PAD + 1, (2, n), generator=g).tolist()
        flip = torch.rand(n, generator=g) < 0.5
        out = torch.stack([pad[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
        return torch.where(flip.to(x.device).view(-1, 1, 1, 1), out.flip(3), out)
    if x.dim() in (2, 3):
        L = x.shape[-1]
        pad = F.pad(x, (PAD, PAD))
        d = torch.randint(0, 2 * PAD + 1, (len(x),), generator=g).tolist()
        return torch.stack([pad[i, ..., d[i] : d[i] + L] for i in range(len(x))])
    return x
