"""The vmapped pieces of :mod:`dlscope.train.replicas`: a storage-free copy of the net whose dropout
takes its masks as inputs, each replica's dropout masks drawn as ``fit`` draws them, and
``torch.optim.SGD``'s update applied replica-wise.

Dropout on a CPU (``F.dropout`` → ``at::native::_dropout_impl``): noise = ``empty_like(x).bernoulli_(1 − p)``,
noise /= 1 − p, out = x · noise, from the default generator, in the order the forward pass calls the
``nn.Dropout`` modules. ``fit`` seeds that generator with s·1000003 + t before step t's forward pass,
so replica r's masks are the same draws after seeding with its own s_r.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["functional_base", "DropoutSites", "sgd_step"]


class _MaskDropout(nn.Module):
    """``nn.Dropout`` whose mask (already divided by 1 − p) arrives as the buffer ``mask``."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.empty(0), persistent=False)

    def forward(self, x):
        return x * self.mask if self.training else x


def functional_base(model: nn.Module) -> nn.Module:
    """A copy of ``model`` without storage (meta tensors) whose ``nn.Dropout`` modules take their masks as buffers."""
    base = copy.deepcopy(model).to("meta")
    for name, m in list(base.named_modules()):
        if isinstance(m, nn.Dropout):
            base.set_submodule(name, _MaskDropout())
    return base


class DropoutSites:
    """The ``nn.Dropout`` calls of one training forward pass, in order, with their input shapes (found once
    per batch size by a forward pass of zeros), and each replica's masks of a step."""

    def __init__(self, model: nn.Module, input_shape: tuple):
        self.model, self.input_shape, self.shapes = model, input_shape, {}
        self.any = any(isinstance(m, nn.Dropout) for m in model.modules())

    def calls(self, b: int, dtype, device) -> list:
        if b not in self.shapes:
            calls: list = []
            hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: calls.append((name, mod.p, args[0].shape)))
                     for name, m in self.model.named_modules() if isinstance(m, nn.Dropout)]
            was = self.model.training
            try:
                self.model.train()
                with torch.no_grad(), torch.random.fork_rng(devices=[]):
                    self.model(torch.zeros(b, *self.input_shape, dtype=dtype, device=device))
            finally:
                self.model.train(was)
                for h in hooks:
                    h.remove()
            self.shapes[b] = calls
        return self.shapes[b]

    def masks(self, reps: list, t: int, b: int, dtype, device) -> dict:
        """{"<module>.mask": (k, *shape)}: each replica's masks of step t, drawn as fit's forward draws them."""
        if not self.any:
            return {}
        calls = self.calls(b, dtype, device)
        if len({name for name, _, _ in calls}) != len(calls):
            raise ValueError("replicas: a dropout module is called twice in one forward pass; train with fit")
        per: dict = {name: [] for name, _, _ in calls}
        for rep in reps:
            torch.default_generator.manual_seed(rep.cfg.seed * 1_000_003 + t)
            for name, p, shape in calls:
                per[name].append(torch.empty(shape, dtype=dtype).bernoulli_(1 - p).div_(1 - p).to(device))
        return {f"{name}.mask": torch.stack(ms) for name, ms in per.items()}


@torch.no_grad()
def sgd_step(params: dict, momentum: dict, grads, active, lr, mu, wd, nesterov: bool) -> None:
    """torch.optim.SGD's update per replica (per-replica η, μ, λ); frozen where ``active`` is False."""
    use_wd, use_mu = bool((wd != 0).any()), bool((mu != 0).any())
    for (name, p), g in zip(params.items(), grads):
        shape = (-1,) + (1,) * (p.dim() - 1)
        on = active.view(shape)
        d = g + wd.view(shape) * p if use_wd else g
        if use_mu:
            b = mu.view(shape) * momentum[name] + d
            momentum[name].copy_(torch.where(on, b, momentum[name]))
            d = d + mu.view(shape) * b if nesterov else b
        p.copy_(torch.where(on, p - lr.view(shape) * d, p))
