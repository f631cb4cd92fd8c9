"""The one evaluator of the instruments: the empirical risk of a model at any parameter vector θ.

    L(θ) = Σ_b (n_b/N) loss_fn(f(θ, x_b), y_b),     E(θ) = Σ_b (n_b/N) error_fn(f(θ, x_b), y_b)

for any ``loss_fn`` and any ``error_fn`` (e.g. :func:`classification_error`), at many θ at once
(landscape slices, paths, Monte-Carlo flatness) or with the gradient ∇_θ L (ascent searches).
Shared by every instrument that moves in parameter space. The model is only read (through
``functional_call`` or a private copy); its weights, modes and BN statistics stay as they were.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import vmap

from .data import as_batches, batch_weights, data_hash
from .params import ParamSpace, call
from .state import mode_settings, snapshot, using_mode

__all__ = ["Evaluator", "classification_error"]


def classification_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of examples whose arg-max output is not the target class (one output: the sign)."""
    if outputs.dim() == 1 or outputs.shape[-1] == 1:
        pred = (outputs.reshape(-1) > 0).to(targets.dtype)
        return (pred != (targets.reshape(-1) > 0).to(targets.dtype)).to(outputs.dtype).mean()
    return (outputs.argmax(-1) != targets).to(outputs.dtype).mean()


class Evaluator:
    """L(θ) = Σ_b (n_b/N) loss_fn(f(θ, x_b), y_b) (and the same for ``error_fn``) at flat θ's.

    Two paths, same numbers. On accelerators ``points_per_batch`` parameter vectors go through
    one vmapped forward pass (fewer, larger kernels). On a CPU a batched matmul is no faster than
    a loop, so points are evaluated one at a time on a private copy of the model whose
    parameters are views into one flat buffer: moving to the next point is one ``copy_``, as
    cheap as a plain forward pass. BN in train mode and ``bn_recalibrate`` always take the loop.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable, data, *, mode: str = "eval",
                 error_fn: Callable | None = None, bn_recalibrate: bool = False,
                 points_per_batch: int | None = None, buffers: dict | None = None):
        self.model, self.loss_fn, self.error_fn, self.mode = model, loss_fn, error_fn, mode
        self.batches = as_batches(data)
        self.weights = batch_weights(self.batches)
        self.space = ParamSpace(model)
        self.fixed, own_buffers = snapshot(model)
        self.buffers = own_buffers if buffers is None else buffers
        self.bn_recalibrate = bn_recalibrate
        if points_per_batch is None:
            points_per_batch = 1 if self.space.device.type == "cpu" else 32
        self.points_per_batch = max(1, points_per_batch)
        self.sequential = bn_recalibrate or mode != "eval" or self.points_per_batch == 1
        self._scratch = None

    def theta(self) -> torch.Tensor:
        return self.space.flatten(self.fixed)

    def settings(self, **extra) -> dict:
        """The settings block every instrument built on this evaluator records."""
        return {**mode_settings(self.model, self.mode), "dtype": str(self.space.dtype).removeprefix("torch."),
                "data_hash": data_hash(self.batches), "num_examples": sum(int(b[1].shape[0]) for b in self.batches),
                **extra}

    def loss_and_grad(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """L(θ) and ∇_θ L(θ) (flat, detached) at one flat θ."""
        theta = theta.detach().to(self.space.device, self.space.dtype).requires_grad_(True)
        with torch.enable_grad(), using_mode(self.model, self.mode):
            tensors = {**self.fixed, **self.space.unflatten(theta)}
            loss = sum(w * self.loss_fn(call(self.model, {**tensors, **{k: v.clone() for k, v in self.buffers.items()}},
                                            x), y)
                       for (x, y), w in zip(self.batches, self.weights))
            (g,) = torch.autograd.grad(loss, theta)
        return float(loss.detach()), g.detach()

    def __call__(self, points: torch.Tensor, buffer_points: dict | None = None):
        """Losses (P,) and errors (P,) or None, as float64 numpy arrays, at points (P × n)."""
        points = points.to(self.space.device, self.space.dtype)
        losses, errors = [], []
        with torch.no_grad():
            if self.sequential:
                model, flat, bufs = self._scratch_model()
                for i in range(points.shape[0]):
                    flat.copy_(points[i])
                    src = {k: v[i] for k, v in buffer_points.items()} if buffer_points else self.buffers
                    for k, b in bufs.items():
                        b.copy_(src[k])
                    if self.bn_recalibrate:
                        self._recalibrate(model, bufs)
                    l, e = self._forward(lambda x: model(*_args(x)))
                    losses.append(torch.as_tensor(l).reshape(1))
                    errors.append(torch.as_tensor(e).reshape(1))
            else:
                with using_mode(self.model, self.mode):
                    f = vmap(self._one, in_dims=(0, 0 if buffer_points else None))
                    for j in range(0, points.shape[0], self.points_per_batch):
                        sl = slice(j, j + self.points_per_batch)
                        bp = {k: v[sl] for k, v in buffer_points.items()} if buffer_points else self.buffers
                        l, e = f(points[sl], bp)
                        losses.append(l)
                        errors.append(e)
        loss = torch.cat(losses).double().cpu().numpy()
        err = torch.cat(errors).double().cpu().numpy() if self.error_fn is not None else None
        return loss, err

    def _forward(self, f):
        loss = err = 0.0
        for (x, y), w in zip(self.batches, self.weights):
            out = f(x)
            loss = loss + w * self.loss_fn(out, y)
            if self.error_fn is not None:
                err = err + w * self.error_fn(out, y)
        return loss, err

    def _one(self, flat, buffers):
        tensors = {**self.fixed, **self.space.unflatten(flat), **buffers}
        loss, err = self._forward(lambda x: call(self.model, tensors, x))
        err = torch.as_tensor(err, dtype=flat.dtype, device=flat.device) if self.error_fn is None else err
        return torch.as_tensor(loss), err

    def _scratch_model(self):
        """A private copy of the model in the requested mode, parameters viewing one flat buffer."""
        if self._scratch is None:
            model = copy.deepcopy(self.model)
            with using_mode(model, self.mode):
                flags = {id(m): m.training for m in model.modules()}
            for m in model.modules():
                m.training = flags[id(m)]
            named = dict(model.named_parameters())
            flat = torch.empty(self.space.dim, dtype=self.space.dtype, device=self.space.device)
            for n in self.space.names:
                named[n].data = flat[self.space.slices[n]].view(named[n].shape)
                named[n].requires_grad_(False)
            bufs = dict(model.named_buffers())
            self._scratch = (model, flat, bufs)
        return self._scratch

    def _recalibrate(self, model, bufs):
        """BN running statistics re-estimated at θ: reset, then one train-mode pass over the data
        with momentum=None (a cumulative average over batches, Garipov et al. 2018 §A)."""
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [(m, m.training, m.momentum) for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.train()
            m.momentum = None
        for x, _ in self.batches:
            model(*_args(x))
        for m, t, mom in saved:
            m.training, m.momentum = t, mom


def _args(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)
