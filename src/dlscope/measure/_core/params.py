"""A model as a function of one flat parameter vector θ ∈ R^n (through ``torch.func.functional_call``).

Every instrument that moves in parameter space (curvature products, slices, paths, flatness
searches) sees the selected parameters concatenated in ``named_parameters`` order; the
caller's module is never written to.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call

__all__ = ["ParamSpace", "call", "lerp_buffers"]


def call(model: nn.Module, tensors: dict, x):
    """functional_call with a single input or a tuple of inputs."""
    args = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    return functional_call(model, tensors, args)


class ParamSpace:
    """The flat coordinates θ ∈ R^n of a subset of a model's parameters (default: all trainable)."""

    def __init__(self, model: nn.Module, params=None):
        named = dict(model.named_parameters())
        if params is None:
            names = [n for n, p in named.items() if p.requires_grad]
        else:
            by_id = {id(p): n for n, p in named.items()}
            names = []
            for p in params:
                if isinstance(p, str):
                    if p not in named:
                        raise KeyError(f"model has no parameter {p!r}")
                    names.append(p)
                elif id(p) in by_id:
                    names.append(by_id[id(p)])
                else:
                    raise KeyError("params must be names or parameters of the model")
            order = {n: i for i, n in enumerate(named)}
            names = sorted(set(names), key=order.__getitem__)
        if not names:
            raise ValueError("no parameters selected")
        self.names = names
        self.shapes = [named[n].shape for n in names]
        self.numels = [named[n].numel() for n in names]
        self.dim = sum(self.numels)
        ref = named[names[0]]
        self.dtype, self.device = ref.dtype, ref.device
        offsets = [0]
        for k in self.numels:
            offsets.append(offsets[-1] + k)
        self.slices = {n: slice(offsets[i], offsets[i + 1]) for i, n in enumerate(names)}

    def flatten(self, tensors: dict | Sequence) -> torch.Tensor:
        if isinstance(tensors, dict):
            tensors = [tensors[n] for n in self.names]
        return torch.cat([t.reshape(-1) for t in tensors])

    def unflatten(self, vec: torch.Tensor) -> dict:
        """(n,) -> {name: tensor}; (P, n) -> {name: (P, *shape)} (views)."""
        lead = vec.shape[:-1]
        return {n: vec[..., self.slices[n]].reshape(tuple(lead) + tuple(s)) for n, s in zip(self.names, self.shapes)}


def lerp_buffers(buf_a: dict, buf_b: dict, t: torch.Tensor) -> dict | None:
    """Buffers at points t of the segment: float buffers (BN statistics) (1 − t) a + t b, others a's.

    Returns {name: (len(t), *shape)} or None when there are no buffers.
    """
    out = {}
    for k, v in buf_a.items():
        rep = v[None].expand(len(t), *v.shape)
        if v.is_floating_point():
            out[k] = torch.lerp(rep, buf_b[k][None].expand(len(t), *v.shape), t.to(v.dtype).reshape(-1, *[1] * v.dim()))
        else:
            out[k] = rep.clone()
    return out or None
