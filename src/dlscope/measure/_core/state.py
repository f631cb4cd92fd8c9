"""Leave the caller's model exactly as it was found, and say which mode it was measured in (STYLE #3, #5).

``preserved(model)`` snapshots parameters, buffers, ``.grad`` fields, ``requires_grad``
flags and the train/eval mode of every submodule, and restores them bit-identically on
exit, even when the body raises. ``using_mode`` switches train/eval for the duration of a
measurement; ``mode_settings`` records what a measurement saw (BN and dropout modes).
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

__all__ = ["preserved", "using_mode", "mode_settings", "snapshot", "MODES"]

MODES = ("eval", "train", "as-is")


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


@contextlib.contextmanager
def using_mode(model: nn.Module, mode: str):
    """Temporarily put the model in ``mode`` ("eval", "train" or "as-is"); restore every flag."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    flags = [(m, m.training) for m in model.modules()]
    try:
        if mode == "eval":
            model.eval()
        elif mode == "train":
            model.train()
        yield
    finally:
        for m, t in flags:
            m.training = t


def mode_settings(model: nn.Module, mode: str) -> dict:
    """What the measurement will see: the mode asked for and the BN / dropout modes it implies."""
    with using_mode(model, mode):
        bn = sorted({"train" if m.training else "eval" for m in model.modules()
                     if isinstance(m, nn.modules.batchnorm._BatchNorm)})
        do = sorted({"train" if m.training else "eval" for m in model.modules()
                     if isinstance(m, nn.modules.dropout._DropoutNd)})
    return {"mode": mode, "bn_mode": "/".join(bn) or "none", "dropout_mode": "/".join(do) or "none"}


def snapshot(model: nn.Module) -> tuple[dict, dict]:
    """Detached copies of all parameters and buffers (a measurement's fixed point θ)."""
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    return params, buffers
