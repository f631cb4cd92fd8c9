"""The empirical neural tangent kernel, in blocks under a memory budget.

Jacot, Gabriel & Hongler, "Neural tangent kernel: convergence and generalization in neural
networks", NeurIPS 2018, §4: for a network f(x; θ) ∈ R^C with Jacobian
J(x) = ∂f(x; θ)/∂θ ∈ R^{C×P},

    Θ(x, x') = J(x) J(x')ᵀ ∈ R^{C×C},  Θ(x, x')_{cd} = Σ_p ∂f_c(x)/∂θ_p · ∂f_d(x')/∂θ_p.

``output="full"`` returns the (n1, n2, C, C) array; ``output="trace"`` returns the (n1, n2)
matrix tr_C Θ(x, x') = Σ_c Θ_cc (the scalar-kernel view: at infinite width Θ = Θ_scalar ⊗ I_C,
so tr = C · Θ_scalar).

Per-example Jacobians come from ``torch.func`` (``vmap`` over ``jacrev`` of the model on one
example, Novak et al. 2022's "Jacobian contraction"); a block of b examples holds b·C·P numbers.
The peak stays under ``memory_budget`` bytes: the kernel itself (n1·n2·C^k numbers, k = 0 or 2),
a panel of row Jacobians held (b_r examples) and a chunk of column Jacobians being computed (b_c
examples, with their transient activations, calibrated on one and two examples); both are at
most ``block_size``. Each row panel streams over the columns (in the symmetric case only those
after it, the rest filled by Θ(x', x) = Θ(x, x')ᵀ), so with n examples in panels of b_r the
Jacobians are computed about n + n²/(2 b_r) times instead of n: memory is traded for time, and
everything is computed once when the budget holds all of J. The measured peak
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
        block_size: largest row panel and column chunk (examples); None: what the budget allows.
        memory_budget: bytes the call may allocate, the returned kernel included.
        mode: "eval" (default: batch norm with running statistics, no dropout) or "as-is"; the
            per-example function must not depend on the rest of the batch.

    value = the kernel (a tensor in the parameters' dtype); settings: output, sizes, mode,
    dtype, budget, block_size (row panel, column chunk), data hash; extra: peak_bytes (measured),
    kernel_bytes, jacobian_bytes (of the whole J, what an unblocked computation would hold),
    blocks, jacobian_evaluations (example-Jacobians computed), cached, seconds.
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
        b_r, b_c, cached = _plan(len(x1), len(x2), C, item, out_bytes, jac_bytes, per, fixed_cost, memory_budget,
                                 block_size, output, sym, max(space.numels))
        t0 = time.perf_counter()
        K, evals = _blocks(jac, theta, x1, x2, sym, b_r, b_c, cached, C, output, space.dtype)
        seconds = time.perf_counter() - t0
    settings.update(output=output, n1=len(x1), n2=len(x2), outputs=C, params=space.dim,
                    dtype=str(space.dtype).removeprefix("torch."), memory_budget=memory_budget, block_size=(b_r, b_c),
                    symmetric=sym, data_hash=data_hash([(x1, x2)]))
    extra = {"peak_bytes": mem.peak, "kernel_bytes": out_bytes,
             "jacobian_bytes": jac_bytes * (len(x1) + (0 if sym else len(x2))),
             "blocks": (math.ceil(len(x1) / b_r), math.ceil(len(x2) / b_c)), "jacobian_evaluations": evals,
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


def _plan(n1, n2, C, item, out_bytes, jac_bytes, per, fixed_cost, budget, block_size, output, sym, biggest):
    """(row block, column block, cache columns): rows held as Jacobians, columns streamed.

    Peak ≈ kernel + b_r·J (the held row panel) + b_c·per (a column chunk being computed, its
    transients included) + (b_r + b_c)·C·``biggest`` (the copies a reshape of one parameter's
    non-contiguous Jacobian makes) + the b_r·b_c products; rows get what the columns leave, since
    each row panel costs one pass over the remaining columns.
    """
    usable = 0.9 * budget - out_bytes - fixed_cost  # 10 % slack for what the model says it allocates
    if usable <= 0:
        raise ValueError(f"memory_budget {budget} B is too small: the kernel alone needs {out_bytes} B "
                         f"(+ {fixed_cost} B to run the model); raise it or use output='trace'")
    prod = (C * C if output == "full" else 1) * item
    cap = block_size or max(n1, n2)
    cols = n1 if sym else n2
    copy = C * biggest * item
    b_c = max(1, min(cols, cap, int(0.25 * usable // (per + copy))))
    b_r = min(n1, cap, int((usable - b_c * (per + copy)) // (jac_bytes + copy + 2 * b_c * prod)))
    if b_r < 1:
        raise ValueError(f"memory_budget {budget} B is too small for one example's Jacobian "
                         f"({jac_bytes} B held + {per} B to compute); raise it")
    cached = not sym and b_r < n1 and \
        (b_r + cols) * jac_bytes + b_c * per + (b_r + b_c) * copy + 2 * b_r * b_c * prod <= usable
    return b_r, b_c, cached


def _contract(Ja: dict, Jb: dict, C: int, output: str) -> torch.Tensor:
    ba, bb = next(iter(Ja.values())).shape[0], next(iter(Jb.values())).shape[0]
    rows = ba if output == "trace" else ba * C
    cols = bb if output == "trace" else bb * C
    K = None
    for n in Ja:
        part = Ja[n].reshape(rows, -1) @ Jb[n].reshape(cols, -1).T
        K = part if K is None else K.add_(part)
    return K if output == "trace" else K.reshape(ba, C, bb, C).permute(0, 2, 1, 3)


def _blocks(jac, theta, x1, x2, sym, b_r, b_c, cached, C, output, dtype):
    """Row panels of x1 (Jacobians held) against column chunks of x2 (computed, or cached).

    Symmetric: panel [a, e) gives its own diagonal block from its held Jacobian, then the chunks
    of x1[e:] fill K[a:e, e:] and, transposed, K[e:, a:e].
    """
    shape = (len(x1), len(x2)) + ((C, C) if output == "full" else ())
    K = torch.empty(shape, dtype=dtype, device=x1.device)
    flip = (lambda t: t.transpose(0, 1)) if output == "trace" else (lambda t: t.permute(1, 0, 3, 2))
    store: dict[int, dict] = {}
    evals = 0
    for a in range(0, len(x1), b_r):
        e = min(a + b_r, len(x1))
        Ja = jac(theta, x1[a:e])
        evals += e - a
        if sym:
            K[a:e, a:e] = _contract(Ja, Ja, C, output)
        for c in range(e if sym else 0, len(x2), b_c):
            d = min(c + b_c, len(x2))
            Jb = store.get(c)
            if Jb is None:
                Jb = jac(theta, x2[c:d])
                evals += d - c
                if cached:
                    store[c] = Jb
            blk = _contract(Ja, Jb, C, output)
            K[a:e, c:d] = blk
            if sym:
                K[c:d, a:e] = flip(blk)
            del Jb, blk
        del Ja
    return K, evals
