"""The prior mean of a PAC-Bayes bound: data-free (the initialization θ₀, or any fixed net) or learnt.

A PAC-Bayes bound holds for any prior chosen without the examples it is evaluated on. Dziugaite &
Roy 2017 (§3) center the prior at the random initialization w₀ — chosen before seeing any data.
Pérez-Ortiz, Rivasplata, Shawe-Taylor & Szepesvári 2021 ("Tighter risk certificates for neural
networks", JMLR 22, §"data-dependent priors"; ``pbb/data.py`` ``loadbatches``, ``pbb/utils.py``
``runexp``) *learn* the prior mean by empirical risk minimization on a random part of the training
set (``perc_prior`` = 0.5 in their MNIST runs), evaluate the bound on the other part only (n is the
size of that part), and may still fit the posterior on all the data: the bound holds for every Q
at once. :func:`learnt_prior` does that split (seeded) and the ERM by plain SGD with momentum from
a data-independent starting net.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

from .._core.params import ParamSpace
from .._core.random import generator

__all__ = ["prior_mean", "split", "learnt_prior"]


def prior_mean(space: ParamSpace, net: nn.Module, what: str) -> torch.Tensor:
    """The flat parameters of ``net`` in ``space``'s order (a data-free prior mean), shapes checked."""
    named = dict(net.named_parameters())
    missing = [n for n in space.names if n not in named]
    if missing:
        raise ValueError(f"{what} has no parameter {missing[0]!r}: it must have the model's architecture")
    for n, s in zip(space.names, space.shapes):
        if named[n].shape != s:
            raise ValueError(f"{what}: parameter {n!r} has shape {tuple(named[n].shape)}, the model's is {tuple(s)}")
    return torch.cat([named[n].detach().reshape(-1) for n in space.names]).to(space.device, space.dtype)


def split(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(prior indices, bound indices): a seeded random ``fraction`` of range(n) and the rest."""
    if not 0 < fraction < 1:
        raise ValueError(f"prior_fraction must lie in (0, 1), got {fraction}")
    k = int(round(fraction * n))
    if k < 1 or k > n - 1:
        raise ValueError(f"prior_fraction={fraction} of {n} examples leaves an empty prior or bound set")
    perm = torch.randperm(n, generator=generator(seed))
    return perm[:k], perm[k:]


def learnt_prior(start: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, *, epochs: float, lr: float,
                 momentum: float, batch_size: int, seed: int) -> nn.Module:
    """A copy of ``start`` trained by SGD (momentum, train mode) on (x, y) for ``epochs`` epochs.

    Batch order of epoch e from a generator seeded by (seed, e); ``start`` is not modified.
    """
    net = copy.deepcopy(start)
    for p in net.parameters():
        p.grad = None
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    n = len(y)
    bs = min(batch_size, n)
    steps = max(1, int(round(epochs * -(-n // bs))))
    step = 0
    while step < steps:
        perm = torch.randperm(n, generator=generator(seed * 1_000_003 + step // -(-n // bs))).to(y.device)
        for i in range(0, n, bs):
            if step >= steps:
                break
            idx = perm[i:i + bs]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
            step += 1
    net.eval()
    return net
