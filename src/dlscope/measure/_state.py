"""Leave the caller's model exactly as it was found (STYLE #3, #5).

``preserved(model)`` snapshots parameters, buffers, ``.grad`` fields, ``requires_grad``
flags and the train/eval mode of every submodule, and restores them bit-identically on
exit, even when the body raises.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

__all__ = ["preserved", "state_fingerprint"]


@contextlib.contextmanager
def preserved(model: nn.Module):
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = {n: (None if p.grad is None else p.grad.detach().clone()) for n, p in model.named_parameters()}
    req = {n: p.requires_grad for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    modes = {n: m.training for n, m in model.named_modules()}
    try:
        yield model
    finally:
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(params[n])
                p.grad = grads[n]
                p.requires_grad_(req[n])
            for n, b in model.named_buffers():
                b.copy_(buffers[n])
        for n, m in model.named_modules():
            m.training = modes[n]


def state_fingerprint(model: nn.Module) -> dict:
    """Everything :func:`preserved` restores, as a comparable dict (used by tests)."""
    out = {}
    for n, p in model.named_parameters():
        out["p:" + n] = p.detach().clone()
        out["g:" + n] = None if p.grad is None else p.grad.detach().clone()
    for n, b in model.named_buffers():
        out["b:" + n] = b.detach().clone()
    out["modes"] = tuple((n, m.training) for n, m in model.named_modules())
    return out
