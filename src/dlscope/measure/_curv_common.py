"""Shared plumbing of the optimization instruments: data batches, modes, flat parameters.

Every optimization instrument sees the model as a function of one flat parameter vector
θ ∈ R^n (the selected parameters, concatenated in ``named_parameters`` order) through
``torch.func.functional_call``; the caller's module is never written to.
"""
from __future__ import annotations

import contextlib
import hashlib
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call

MODES = ("eval", "train", "as-is")


def as_batches(data) -> list[tuple]:
    """``(x, y)`` tensors or an iterable of ``(x, y)`` batches -> a list of batches (iterated once).

    A one-shot iterator or a shuffling DataLoader is read exactly once, so every later pass of
    an instrument sees the same examples in the same batches.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2 \
            and isinstance(data[0], torch.Tensor) and isinstance(data[1], torch.Tensor):
        return [tuple(data)]
    batches = [tuple(b) for b in data]
    if not batches:
        raise ValueError("data is empty")
    if any(len(b) != 2 for b in batches):
        raise ValueError("each batch must be a pair (inputs, targets)")
    return batches


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


def call(model: nn.Module, tensors: dict, x):
    """functional_call with a single input or a tuple of inputs."""
    args = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    return functional_call(model, tensors, args)


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


class ParamSpace:
    """The flat coordinates θ ∈ R^n of a subset of a model's parameters."""

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


def snapshot(model: nn.Module) -> tuple[dict, dict]:
    """Detached copies of all parameters and buffers (the operator's fixed point θ)."""
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    return params, buffers


def classification_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of examples whose arg-max output is not the target class."""
    return (outputs.argmax(-1) != targets).to(outputs.dtype).mean()
