"""The linearized network: the first-order Taylor model of f around θ0, as a trainable module.

Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein & Pennington, "Wide neural networks of
any depth evolve as linear models under gradient descent", NeurIPS 2019:

    f_lin(x; θ) = f(x; θ0) + J(x; θ0) (θ − θ0),   J(x; θ0) = ∂f(x; θ)/∂θ |_{θ0}.

f_lin is linear in θ, its NTK is the empirical NTK of f at θ0 for every θ, and trained by
gradient descent on the squared loss it is kernel regression with that kernel. The product
J(x; θ0) v is one forward-mode pass (``torch.func.jvp``), so f_lin costs about two forward
passes of f and never forms J. The module's trainable parameters are θ (started at θ0); θ0
and f's buffers are frozen buffers; f is evaluated in eval mode (batch norm with the running
statistics it had at θ0, no dropout), recorded in ``settings``.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.func import jvp

from .._core.params import call
from .._core.state import mode_settings

__all__ = ["linearized", "Linearized"]


def _key(prefix: str, name: str) -> str:
    return prefix + name.replace(".", "__")


class Linearized(nn.Module):
    """f_lin(x; θ) = f(x; θ0) + J(x; θ0)(θ − θ0); build it with :func:`linearized`."""

    def __init__(self, model: nn.Module, params0: dict[str, torch.Tensor]):
        super().__init__()
        base = copy.deepcopy(model).eval()
        for p in base.parameters():
            p.requires_grad_(False)
        object.__setattr__(self, "_base", base)  # not a submodule: its parameters are not θ
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.frozen_names = [n for n, p in model.named_parameters() if not p.requires_grad]
        self.buffer_names = [n for n, _ in model.named_buffers()]
        self.theta = nn.ParameterList([nn.Parameter(params0[n].detach().clone()) for n in self.names])
        for n in self.names + self.frozen_names:
            self.register_buffer(_key("theta0__", n), params0[n].detach().clone())
        for n, b in model.named_buffers():
            self.register_buffer(_key("buffer__", n), b.detach().clone())
        self.settings = {**mode_settings(model, "eval"), "params": sum(p.numel() for p in self.theta)}

    def _apply(self, fn, *args, **kw):
        super()._apply(fn, *args, **kw)
        self._base._apply(fn, *args, **kw)  # keep f's module on the same device and dtype as θ
        return self

    def theta0(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, _key("theta0__", n)) for n in self.names}

    def forward(self, x):
        fixed = {n: getattr(self, _key("theta0__", n)) for n in self.frozen_names}
        fixed.update({n: getattr(self, _key("buffer__", n)) for n in self.buffer_names})
        theta0 = self.theta0()
        delta = {n: t - theta0[n] for n, t in zip(self.names, self.theta)}
        base = self._base

        def f(params):
            return call(base, {**fixed, **params}, x)

        with warnings.catch_warnings():
            # forward-mode AD loads torch's own decompositions through torch.jit.script once per
            # process, which warns about torch's deprecation of jit (nothing the caller can act on)
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
            out, tangent = jvp(f, (theta0,), (delta,))
        return out + tangent


def linearized(model: nn.Module, params0=None) -> Linearized:
    """The linearization of ``model`` around ``params0`` (Lee et al. 2019, Eq. 5), trainable with ``train.fit``.

    params0: the expansion point θ0 — a module of the same architecture (e.g. a copy of the
    net at initialization), a {name: tensor} dict, or None for ``model``'s current parameters.
    The model is not modified (a private copy defines f). Parameters without ``requires_grad``
    stay fixed at their θ0 values.
    """
    if params0 is None:
        params0 = dict(model.named_parameters())
    elif isinstance(params0, nn.Module):
        params0 = dict(params0.named_parameters())
    if not isinstance(params0, dict):
        raise ValueError("params0 must be a module, a {name: tensor} dict or None")
    names = [n for n, _ in model.named_parameters()]
    missing = [n for n in names if n not in params0]
    if missing:
        raise ValueError(f"params0 lacks parameter(s) {missing[:3]} of the model")
    bad = [n for n, p in model.named_parameters() if tuple(params0[n].shape) != tuple(p.shape)]
    if bad:
        raise ValueError(f"params0 has the wrong shape for {bad[:3]}")
    return Linearized(model, params0)
