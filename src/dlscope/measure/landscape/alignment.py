"""Permutation alignment of hidden units by weight matching (Ainsworth, Hayase & Srinivasa 2023).

Hidden units of an MLP can be permuted without changing its function. Weight matching looks
for the permutations P_l of the hidden layers of model B that bring its weights closest to A's,

    max_{P}  Σ_l ⟨W_l^A, P_l W_l^B P_{l−1}ᵀ⟩_F + ⟨b_l^A, P_l b_l^B⟩,      (P_0 = P_L = I)

by coordinate ascent: each P_l in turn solves a linear assignment problem with the others fixed
(Ainsworth et al. 2023, Algorithm 1), until no permutation changes.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from .._core.state import using_mode

__all__ = ["weight_matching"]


def weight_matching(model_a: nn.Module, model_b: nn.Module, *, max_iter: int = 100,
                    seed: int = 0) -> tuple[nn.Module, list[np.ndarray]]:
    """A copy of ``model_b`` with hidden units permuted to match ``model_a``, and the permutations.

    Supports MLPs: modules whose only parameters are ``nn.Linear`` layers applied in registration
    order with elementwise functions in between. The permuted copy is checked to compute the same
    function as ``model_b`` on random inputs; anything else raises ``ValueError``. Neither input
    model is modified.
    """
    la, lb = _linears(model_a), _linears(model_b)
    if [l.weight.shape for l in la] != [l.weight.shape for l in lb]:
        raise ValueError("the two models have different layer shapes")
    Wa = [l.weight.detach().double().cpu().numpy() for l in la]
    Wb = [l.weight.detach().double().cpu().numpy() for l in lb]
    ba = [None if l.bias is None else l.bias.detach().double().cpu().numpy() for l in la]
    bb = [None if l.bias is None else l.bias.detach().double().cpu().numpy() for l in lb]
    hidden = len(la) - 1
    perms = [np.arange(Wa[l].shape[0]) for l in range(hidden)]
    rng = np.random.default_rng(seed)
    for _ in range(max_iter):
        changed = False
        for l in rng.permutation(hidden):
            prev = perms[l - 1] if l > 0 else np.arange(Wb[l].shape[1])
            C = Wa[l] @ Wb[l][:, prev].T
            if ba[l] is not None:
                C = C + np.outer(ba[l], bb[l])
            nxt = Wb[l + 1][perms[l + 1]] if l + 1 < hidden else Wb[l + 1]
            C = C + Wa[l + 1].T @ nxt
            new = linear_sum_assignment(C, maximize=True)[1]
            if not np.array_equal(new, perms[l]):
                perms[l], changed = new, True
        if not changed:
            break
    out = copy.deepcopy(model_b)
    lo = _linears(out)
    with torch.no_grad():
        for l, lin in enumerate(lo):
            rows = perms[l] if l < hidden else slice(None)
            cols = perms[l - 1] if l > 0 else slice(None)
            lin.weight.copy_(lb[l].weight.detach()[rows][:, cols])
            if lin.bias is not None:
                lin.bias.copy_(lb[l].bias.detach()[rows])
    _check_same_function(model_b, out, la[0].in_features)
    return out, perms


def _linears(model: nn.Module) -> list[nn.Linear]:
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    owned = {id(p) for l in lins for p in l.parameters()}
    if not lins or any(id(p) not in owned for p in model.parameters()):
        raise ValueError("weight matching supports MLPs (only nn.Linear parameters)")
    for a, b in zip(lins, lins[1:]):
        if a.out_features != b.in_features:
            raise ValueError("consecutive nn.Linear layers do not chain; not an MLP")
    return lins


def _check_same_function(model_b, out, in_features):
    p = next(model_b.parameters())
    x = torch.randn(8, in_features, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = x.to(p.device, p.dtype)
    with torch.no_grad(), using_mode(model_b, "eval"), using_mode(out, "eval"):
        ya, yb = model_b(x), out(x)
    tol = 1e-8 if p.dtype == torch.float64 else 1e-3
    if not torch.allclose(ya, yb, rtol=tol, atol=tol * float(ya.abs().max())):
        raise ValueError("permuting hidden units changed the function: the model is not a plain MLP")
