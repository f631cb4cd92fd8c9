"""The empirical neural tangent kernel, in blocks under a memory budget.

Jacot, Gabriel & Hongler, "Neural tangent kernel: convergence and generalization in neural
networks", NeurIPS 2018, Eq. (2)–(4): for a network f(x; θ) ∈ R^C with Jacobian
J(x) = ∂f(x; θ)/∂θ ∈ R^{C×P},

    Θ(x, x') = J(x) J(x')ᵀ ∈ R^{C×C},  Θ(x, x')_{cd} = Σ_p ∂f_c(x)/∂θ_p · ∂f_d(x')/∂θ_p.

``output="full"`` returns the (n1, n2, C, C) array; ``output="trace"`` returns the (n1, n2)
matrix tr_C Θ(x, x') = Σ_c Θ_cc (the scalar-kernel view: at infinite width Θ = Θ_scalar ⊗ I_C,
so tr = C · Θ_scalar).

Per-example Jacobians come from ``torch.func`` (``vmap`` over ``jacrev`` of the model on one
example, Novak et al. 2022's "Jacobian contraction"); a block of b examples holds b·C·P numbers.
The rows and columns are cut into blocks of at most ``block_size`` examples, chosen so that the
peak stays under ``memory_budget`` bytes: the kernel itself (n1·n2·C^k numbers, k = 0 or 2), one
block's Jacobian held and one being computed (with its transient activations, calibrated on one
and two examples). When every column Jacobian fits too, they are computed once and kept;
otherwise they are recomputed for each row block (more time, same memory). The measured peak
(:class:`~dlscope.measure.ntk.memory.PeakMemory`, storages allocated during the call) is in
``extra["peak_bytes"]``.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.func import jacrev, vmap

from .._core.data import data_hash
from .._core.params import ParamSpace, call
from .._core.result import Result
from .._core.state import mode_settings, snapshot, using_mode
from .memory import PeakMemory

__all__ = ["ntk", "DEFAULT_BUDGET"]

DEFAULT_BUDGET = 2 ** 30  # 1 GiB: the whole call, kernel included


def _inputs(x, name: str) -> torch.Tensor:
    if isinstance(x, (tuple, list)) and len(x) == 2 and isinstance(x[0], torch.Tensor):
        x = x[0]  # an (x, y) pair: the kernel needs the inputs only
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty tensor of inputs (n, *input_shape)")
    return x


def ntk(model: nn.Module, x1, x2=None, *, output: str = "trace", block_size: int | None = None,
        memory_budget: int = DEFAULT_BUDGET, mode: str = "eval") -> Result:
    """Θ(x1, x2) of ``model`` at its current parameters (all parameters with ``requires_grad``).

    Args:
        x1, x2: input tensors (n1, *shape), (n2, *shape); ``x2=None`` computes the symmetric
            Θ(x1, x1) (each block pair once).
        output: "trace" — (n1, n2), tr_C Θ; "full" — (n1, n2, C, C).
        block_size: largest block (examples); None: the largest the budget allows.
        memory_budget: bytes the call may allocate, the returned kernel included.
        mode: "eval" (default: batch norm with running statistics, no dropout) or "as-is"; the
            per-example function must not depend on the rest of the batch.

    value = the kernel (a tensor in the parameters' dtype); settings: output, sizes, mode,
    dtype, budget, block size, data hash; extra: peak_bytes (measured), jacobian_bytes (of the
    whole J, what an unblocked computation would hold), blocks, jacobian_evaluations, cached.
    """
    if output not in ("trace", "full"):
        raise ValueError(f"output must be 'trace' or 'full', got {output!r}")
    if block_size is not None and block_size < 1:
        raise ValueError(f"block_size must be ≥ 1, got {block_size}")
    x1 = _inputs(x1, "x1")
    sym = x2 is None
    x2 = x1 if sym else _inputs(x2, "x2")
    if x1.shape[1:] != x2.shape[1:]:
        raise ValueError(f"x1 and x2 have different input shapes {tuple(x1.shape[1:])} and {tuple(x2.shape[1:])}")
    settings = mode_settings(model, mode)
    if "train" in settings["bn_mode"] or "train" in settings["dropout_mode"]:
        raise ValueError("the NTK needs a per-example function: batch norm and dropout in eval mode (mode='eval')")
    space = ParamSpace(model)
    fixed, buffers = snapshot(model)
    theta = {n: fixed[n] for n in space.names}
    frozen = {**{n: t for n, t in fixed.items() if n not in theta}, **buffers}
    x1, x2 = x1.to(space.device, space.dtype), x2.to(space.device, space.dtype)

    def f(params, x):
        return call(model, {**frozen, **params}, x[None]).reshape(-1)

    jac = vmap(jacrev(f), in_dims=(None, 0))
    with using_mode(model, mode), PeakMemory() as mem:
        C = int(f(theta, x1[0]).numel())
        item = torch.empty((), dtype=space.dtype).element_size()
        out_bytes = len(x1) * len(x2) * (C * C if output == "full" else 1) * item
        jac_bytes = C * space.dim * item  # one example's Jacobian
        per, fixed_cost = _calibrate(jac, theta, x1)
        b, cached = _plan(len(x1), len(x2), C, item, out_bytes, jac_bytes, per, fixed_cost, memory_budget,
                          block_size, output, sym)
        t0 = time.perf_counter()
        K, evals = _blocks(jac, theta, x1, x2, sym, b, cached, C, output, space.dtype)
        seconds = time.perf_counter() - t0
    settings.update(output=output, n1=len(x1), n2=len(x2), outputs=C, params=space.dim,
                    dtype=str(space.dtype).removeprefix("torch."), memory_budget=memory_budget, block_size=b,
                    symmetric=sym, data_hash=data_hash([(x1, x2)]))
    extra = {"peak_bytes": mem.peak, "kernel_bytes": out_bytes, "jacobian_bytes": jac_bytes * (len(x1) + (0 if sym else len(x2))),
             "blocks": (math.ceil(len(x1) / b), math.ceil(len(x2) / b)), "jacobian_evaluations": evals,
             "cached": cached, "seconds": seconds}
    return Result("ntk", K, None, settings, extra)


def _calibrate(jac, theta, x) -> tuple[int, int]:
    """Bytes of computing one and two examples' Jacobians: (per example, fixed part)."""
    peaks = []
    for k in (1, 2) if len(x) > 1 else (1,):
        with PeakMemory() as m:
            jac(theta, x[:k])
        peaks.append(m.peak)
    per = peaks[1] - peaks[0] if len(peaks) == 2 else peaks[0]
    per = max(per, peaks[0] // 2)
    return per, max(peaks[0] - per, 0)


def _plan(n1, n2, C, item, out_bytes, jac_bytes, per, fixed_cost, budget, block_size, output, sym):
    """The largest block b whose peak fits: kernel + b held Jacobians + b being computed + products."""
    usable = 0.9 * budget - out_bytes - fixed_cost  # 10 % slack for what the model says it allocates
    if usable <= 0:
        raise ValueError(f"memory_budget {budget} B is too small: the kernel alone needs {out_bytes} B "
                         f"(+ {fixed_cost} B to run the model); raise it or use output='trace'")
    prod = C * C if output == "full" else 1

    def cost(b, held):
        return held * jac_bytes + b * per + 2 * b * b * prod * item

    b = max(n1, n2) if block_size is None else min(block_size, max(n1, n2))
    while b > 1 and cost(b, b) > usable:
        b = max(1, int(b * 0.8))
    if cost(b, b) > usable:
        raise ValueError(f"memory_budget {budget} B is too small for one example's Jacobian "
                         f"({jac_bytes} B held + {per} B to compute); raise it")
    cols = n1 if sym else n2
    cached = math.ceil(cols / b) > 1 and cost(b, b + cols) <= usable
    return b, cached


def _contract(Ja: dict, Jb: dict, C: int, output: str) -> torch.Tensor:
    ba, bb = next(iter(Ja.values())).shape[0], next(iter(Jb.values())).shape[0]
    rows = ba if output == "trace" else ba * C
    cols = bb if output == "trace" else bb * C
    K = None
    for n in Ja:
        part = Ja[n].reshape(rows, -1) @ Jb[n].reshape(cols, -1).T
        K = part if K is None else K.add_(part)
    return K if output == "trace" else K.reshape(ba, C, bb, C).permute(0, 2, 1, 3)


def _blocks(jac, theta, x1, x2, sym, b, cached, C, output, dtype):
    shape = (len(x1), len(x2)) + ((C, C) if output == "full" else ())
    K = torch.empty(shape, dtype=dtype, device=x1.device)
    rows = [(i, min(i + b, len(x1))) for i in range(0, len(x1), b)]
    cols = rows if sym else [(j, min(j + b, len(x2))) for j in range(0, len(x2), b)]
    store: dict[int, dict] = {}
    evals = 0

    def col_jac(j):
        nonlocal evals
        if j in store:
            return store[j]
        a, e = cols[j]
        J = jac(theta, x2[a:e])
        evals += e - a
        if cached:
            store[j] = J
        return J

    for i, (a, e) in enumerate(rows):
        Ja = col_jac(i) if sym else None
        if Ja is None:
            Ja = jac(theta, x1[a:e])
            evals += e - a
        for j, (c, d) in enumerate(cols):
            if sym and j < i:
                continue
            Jb = Ja if sym and j == i else col_jac(j)
            blk = _contract(Ja, Jb, C, output)
            K[a:e, c:d] = blk
            if sym and j > i:
                K[c:d, a:e] = blk.transpose(0, 1) if output == "trace" else blk.permute(1, 0, 3, 2)
            del Jb
        if sym and cached:
            store.pop(i, None)
        del Ja
    return K, evals
