"""How far residual blocks are from the identity: ‖h − Id‖_L = Lip(g) for h(x) = x + g(x).

Hardt & Ma (2017) and Bartlett, Evans & Long (2018) study compositions of near-identities
h_m ∘ ⋯ ∘ h_1 with ‖h_i − Id‖_L ≤ ε; their results need ε < 1 (for the functional-gradient bound)
or ε = O(log m / m) (what depth makes possible). For each residual block this measures two
bounds on Lip(g), the Lipschitz constant of its residual branch g:

* lower: max_j ‖J_g(z_j)‖₂ over the block's inputs z_j at the data points (the local Lipschitz
  constant at the data), each by power iteration on J_gᵀJ_g with jvp / vjp products (autograd)
  from a seeded Gaussian start; ‖J_g v‖ with ‖v‖ = 1 never exceeds ‖J_g‖₂, so every iterate is a
  lower bound. Also the mean over points with its standard error (the spread across points);
* upper: ∏_k ‖A_k‖₂ ρ_k over the chain of g's layers (:func:`~dlscope.measure.trace_layers`:
  BatchNorm folded, ρ_k the Lipschitz constants of the activations; exact operator norms of
  :mod:`dlscope.measure.norms.operator`). For a linear g both equal ‖g‖₂.

Which function is g: ``block.branch`` when the block has one (dlscope's ``resnet`` — He et al.'s
h(x) = x + F(x) before its final ReLU — and ``sigmoid-resnet`` blocks); otherwise g(z) = block(z) − z,
whose upper bound assumes ``block(z) = z + chain(z)`` (the skip add is invisible to the tracer).
A block whose shortcut is not the identity (a projection where the shape changes) is measured
too but marked, and left out of the whole-net numbers. BatchNorm is read in eval mode (per-point
Jacobians need it), recorded in ``settings``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .._core.data import as_batches
from .._core.random import generator
from .._core.result import Result
from .._core.state import mode_settings, preserved
from ..norms.chain import folded_weight, trace_layers
from ..norms.operator import layer_operator_norm

__all__ = ["identity_gap", "residual_blocks"]


class _Branch(nn.Module):
    """A module whose forward is ``block.branch`` (a method or a module): what the tracer walks."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, z):
        return self.block.branch(z)


class _Difference(nn.Module):
    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, z):
        return self.block(z) - z


def residual_blocks(model: nn.Module) -> list[str]:
    """Names of the submodules that expose a residual ``branch`` ("" for the model itself)."""
    return [n for n, m in model.named_modules() if callable(getattr(m, "branch", None))]


def _inputs(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.cat([b[0] for b in as_batches(x)])


def _power(g, z: torch.Tensor, seed: int, iters: int, tol: float) -> tuple[torch.Tensor, int, bool]:
    """Per-point ‖J_g(z_j) v_j‖ after power iteration on J_gᵀJ_g (each a lower bound of ‖J_g(z_j)‖₂).

    One forward graph serves every iteration: vjp(u) = J_gᵀu by backward; jvp(v) = J_g v as the
    derivative of the (linear in u) vjp along v (the double-vjp form of forward mode, which reuses the
    graph instead of re-running the block as ``torch.func.jvp`` does).
    """
    shape = (-1, *[1] * (z.dim() - 1))
    flat = lambda t: t.reshape(len(t), -1)  # noqa: E731
    zz = z.detach().requires_grad_(True)
    with torch.enable_grad():
        out = g(zz)
        u0 = torch.zeros_like(out, requires_grad=True)
        (w0,) = torch.autograd.grad(out, zz, u0, create_graph=True, allow_unused=True)
    if w0 is None or not w0.requires_grad:  # g does not depend on its input: J_g = 0
        return torch.zeros(len(z), dtype=z.dtype, device=z.device), 0, True

    def jvp(v):
        (r,) = torch.autograd.grad(w0, u0, v, retain_graph=True, allow_unused=True)
        return torch.zeros_like(out) if r is None else r

    def vjp(u):
        (r,) = torch.autograd.grad(out, zz, u, retain_graph=True, allow_unused=True)
        return torch.zeros_like(z) if r is None else r

    v = torch.randn(z.shape, generator=generator(seed), dtype=torch.float64).to(z.device, z.dtype)
    v = v / flat(v).norm(dim=1).clamp_min(1e-300).view(shape)
    sigma = torch.zeros(len(z), dtype=z.dtype, device=z.device)
    for it in range(1, iters + 1):
        u = jvp(v)
        new = flat(u).norm(dim=1)
        done = bool(((new - sigma).abs() <= tol * new.clamp_min(1e-30)).all())
        sigma = torch.maximum(sigma, new.detach())
        w = vjp(u)
        wn = flat(w).norm(dim=1)
        if done or bool((wn == 0).all()):
            return sigma, it, True
        v = torch.where(wn.view(shape) > 0, w / wn.clamp_min(1e-300).view(shape), v).detach()
    return sigma, iters, False


def _upper(module: nn.Module, shape, *, method: str, tol: float, seed: int) -> tuple[float, list, list]:
    tr = trace_layers(module, shape)
    if any(lay.parallel_to for lay in tr.layers):
        return math.inf, [], tr.assumed_lipschitz  # a branch beside the chain: no product bound
    norms = []
    for lay in tr.layers:
        w = folded_weight(lay)
        # a zero map (a Fixup-style zero-initialized last conv) has norm 0; ARPACK refuses a zero operator
        norms.append(0.0 if not bool(w.any()) else layer_operator_norm(lay, w, method=method, tol=tol, seed=seed)
                     * lay.rho)
    return math.prod(norms), norms, tr.assumed_lipschitz


def identity_gap(model: nn.Module, x, *, blocks: Sequence[str] | None = None, seed: int = 0, iters: int = 50,
                 tol: float = 1e-4, norm_method: str = "auto", norm_tol: float = 1e-10) -> Result:
    """Lower and upper bounds on ‖h_i − Id‖_L for the residual blocks of ``model`` at inputs ``x``.

    ``x``: model inputs (a tensor, ``(x, y)`` or batches); ``blocks``: module names (default: every
    submodule with a ``branch``; if none, the model itself as one block h = model). value = the
    largest lower bound over identity-shortcut blocks (the data-based estimate of ε = max_i
    ‖h_i − Id‖_L), stderr = the standard error across points of that block's per-point norms;
    extra: ``upper`` (max_i upper bound), ``product_upper`` (∏(1 + upper_i) − 1 ≥ ‖h − Id‖_L of the
    stack) and ``blocks`` (per block: lower, lower_mean, lower_stderr, upper, layer norms, ...).
    """
    x = _inputs(x)
    names = list(blocks) if blocks is not None else (residual_blocks(model) or [""])
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"model has no module(s) {missing}; residual blocks found: {residual_blocks(model)}")
    captured = {}

    def keep(name):
        def hook(module, inputs, output):  # returns None: a forward hook's return value would replace the output
            captured.setdefault(name, inputs[0].detach())
        return hook

    hooks = [modules[n].register_forward_hook(keep(n)) for n in names]
    rows = []
    with preserved(model):
        settings = mode_settings(model, "eval")
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        try:
            with torch.no_grad():
                model(x)
        finally:
            for h in hooks:
                h.remove()
        for k, n in enumerate(names):
            block, z = modules[n], captured[n]
            has_branch = callable(getattr(block, "branch", None))
            g_mod = _Branch(block) if has_branch else _Difference(block)
            with torch.no_grad():
                out = (block.branch if has_branch else block)(z[:1])
            if out.shape[1:] != z.shape[1:]:
                if not has_branch:
                    raise ValueError(f"block {n!r} changes the shape {tuple(z.shape[1:])} → {tuple(out.shape[1:])}: "
                                     "h − Id is undefined; pass blocks with an identity shortcut or a `branch`")
            identity = out.shape[1:] == z.shape[1:] and getattr(block, "shortcut", None) is None
            sigma, used, converged = _power(g_mod, z, seed + k, iters, tol)
            up, layer_norms, assumed = _upper(g_mod, z.shape[1:], method=norm_method, tol=norm_tol, seed=seed)
            s = sigma.double().cpu()
            rows.append({"name": n, "identity_shortcut": bool(identity), "lower": float(s.max()),
                         "lower_mean": float(s.mean()),
                         "lower_stderr": float(s.std(unbiased=True) / math.sqrt(len(s))) if len(s) > 1 else None,
                         "upper": up, "layer_norms": layer_norms, "assumed_lipschitz": assumed,
                         "power_iterations": used, "converged": converged})
    ident = [r for r in rows if r["identity_shortcut"]] or rows
    top = max(ident, key=lambda r: r["lower"])
    return Result("identity_gap", top["lower"], top["lower_stderr"],
                  {**settings, "seed": seed, "iters": iters, "tol": tol, "num_points": int(len(x)),
                   "dtype": str(x.dtype).removeprefix("torch."), "norm_method": norm_method},
                  {"upper": max(r["upper"] for r in ident), "product_upper": math.prod(1 + r["upper"] for r in ident) - 1,
                   "argmax_block": top["name"], "blocks": rows})
