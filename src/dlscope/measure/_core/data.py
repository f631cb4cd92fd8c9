"""The one data convention of the instruments: ``(x, y)`` tensors or an iterable of ``(x, y)`` batches.

Every instrument reads its data through :func:`as_batches` exactly once, so a one-shot
iterator or a shuffling DataLoader gives every later pass the same examples in the same
batches. The empirical risk over batches of unequal sizes n_b (N = Σ n_b) is weighted
exactly: L = Σ_b (n_b / N) · mean loss of batch b (:func:`batch_weights`).
"""
from __future__ import annotations

import hashlib

import torch

__all__ = ["as_batches", "batch_size", "batch_weights", "data_hash", "as_tensors", "split_batches", "pair"]


def as_batches(data) -> list[tuple]:
    """``(x, y)`` tensors or an iterable of ``(x, y)`` batches -> a list of batches (iterated once)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 \
            and isinstance(data[0], torch.Tensor) and isinstance(data[1], torch.Tensor):
        return [tuple(data)]
    batches = [tuple(b) for b in data]
    if not batches:
        raise ValueError("data is empty")
    if any(len(b) != 2 for b in batches):
        raise ValueError("each batch must be a pair (inputs, targets)")
    return batches


def split_batches(data, size: int) -> list[tuple]:
    """:func:`as_batches`, with every batch cut into pieces of at most ``size`` examples."""
    out = []
    for x, y in as_batches(data):
        out += [(x[i:i + size], y[i:i + size]) for i in range(0, len(y), size)]
    return out


def as_tensors(data) -> tuple[torch.Tensor, torch.Tensor]:
    """All batches concatenated into one ``(x, y)`` pair."""
    batches = as_batches(data)
    if len(batches) == 1:
        return batches[0]
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


def batch_size(batch) -> int:
    return int(batch[1].shape[0])


def batch_weights(batches) -> list[float]:
    """w_b = n_b / N: the mean loss over all N examples is Σ_b w_b · (mean loss of batch b)."""
    sizes = [batch_size(b) for b in batches]
    total = sum(sizes)
    return [s / total for s in sizes]


def data_hash(batches) -> str:
    """sha256 (first 16 hex digits) of every input and target tensor, in order."""
    h = hashlib.sha256()
    for x, y in batches:
        for t in (x if isinstance(x, (tuple, list)) else (x,)) + (y,):
            t = t.detach().cpu().contiguous()
            h.update(str((t.dtype, tuple(t.shape))).encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def pair(data, y=None):
    """Accept the older ``(model, x, y)`` calling form beside ``(model, data)``: (x, y) when y is given."""
    return data if y is None else (data, y)
