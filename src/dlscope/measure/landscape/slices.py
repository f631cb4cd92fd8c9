"""Low-dimensional slices of the loss landscape (Goodfellow, Vinyals & Saxe 2015; Li et al. 2018).

    slice_1d:    L(θ + α d),           α on a grid
    slice_2d:    L(θ + α d₁ + β d₂),    (α, β) on a grid
    interpolate: L((1 − t) θ_a + t θ_b) along the segment between two models
    eigenvalue_ratio_map: |λ_min/λ_max| of the Hessian at θ + α d₁ + β d₂ on a (coarse) grid
                 (Li et al. 2018, Fig. 7)

Directions: :mod:`.directions` (filter-normalized Gaussian by default). On accelerators grid points go through one vmapped forward
pass per ``points_per_batch`` parameter sets (default 32); on a CPU (default 1) they are
evaluated one by one on a private copy of the model. The caller's model is left bit-identical.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn

from .._core.params import ParamSpace, lerp_buffers
from .._core.result import Result
from .._core.risk import Evaluator
from .._core.state import mode_settings, snapshot
from ..curvature.lanczos import extreme_eigenvalues
from ..curvature.operator import hessian
from .alignment import weight_matching
from .barrier import barrier
from .directions import landscape_directions

__all__ = ["slice_1d", "slice_2d", "interpolate", "eigenvalue_ratio_map"]


def _grid(span, steps):
    return np.linspace(float(span[0]), float(span[1]), int(steps))


def _settings(ev: Evaluator, extra: dict) -> dict:
    return ev.settings(bn_recalibrate=ev.bn_recalibrate, **extra)


def slice_1d(model: nn.Module, loss_fn: Callable, data, *, direction="filter-normalized-gaussian",
             span=(-1.0, 1.0), steps: int = 51, seed: int = 0, mode: str = "eval",
             error_fn: Callable | None = None, bn_recalibrate: bool = False,
             points_per_batch: int | None = None) -> Result:
    """L(θ + α d) for α in linspace(*span, steps); value = losses, extra = alphas, errors."""
    ev = Evaluator(model, loss_fn, data, mode=mode, error_fn=error_fn, bn_recalibrate=bn_recalibrate,
                   points_per_batch=points_per_batch)
    d = landscape_directions(model, direction if isinstance(direction, str) else [direction], num=1,
                             seed=seed, loss_fn=loss_fn, data=data, mode=mode)[0]
    alphas = _grid(span, steps)
    a = torch.as_tensor(alphas, dtype=d.dtype, device=d.device)
    loss, err = ev(ev.theta()[None, :] + a[:, None] * d[None, :])
    settings = _settings(ev, {"direction": direction if isinstance(direction, str) else "given",
                              "span": list(span), "steps": steps, "seed": seed})
    return Result("slice_1d", loss, None, settings, {"alphas": alphas, "errors": err})


def slice_2d(model: nn.Module, loss_fn: Callable, data, *, directions="filter-normalized-gaussian",
             span=(-1.0, 1.0), steps=21, seed: int = 0, mode: str = "eval",
             error_fn: Callable | None = None, bn_recalibrate: bool = False,
             points_per_batch: int | None = None) -> Result:
    """L(θ + α d₁ + β d₂) on a grid; value[i][j] is at (alphas[i], betas[j]).

    ``span`` is one (lo, hi) for both axes or a pair of them; ``steps`` an int or a pair.
    """
    ev = Evaluator(model, loss_fn, data, mode=mode, error_fn=error_fn, bn_recalibrate=bn_recalibrate,
                   points_per_batch=points_per_batch)
    d1, d2 = landscape_directions(model, directions, num=2, seed=seed, loss_fn=loss_fn, data=data, mode=mode)
    spans = span if np.ndim(span) == 2 else (span, span)
    st = steps if np.ndim(steps) == 1 else (steps, steps)
    alphas, betas = _grid(spans[0], st[0]), _grid(spans[1], st[1])
    theta = ev.theta()
    b = torch.as_tensor(betas, dtype=d1.dtype, device=d1.device)
    rows = [ev((theta + float(a) * d1)[None, :] + b[:, None] * d2[None, :]) for a in alphas]  # one row at a time
    loss = np.concatenate([r[0] for r in rows])
    err = None if error_fn is None else np.concatenate([r[1] for r in rows])
    shape = (len(alphas), len(betas))
    settings = _settings(ev, {"directions": directions if isinstance(directions, str) else "given",
                              "span": [list(s) for s in spans], "steps": list(st), "seed": seed})
    return Result("slice_2d", loss.reshape(shape), None, settings,
                  {"alphas": alphas, "betas": betas, "errors": None if err is None else err.reshape(shape)})


def interpolate(model_a: nn.Module, model_b: nn.Module, loss_fn: Callable, data, *, steps: int = 21,
                span=(0.0, 1.0), mode: str = "eval", error_fn: Callable | None = None,
                bn_recalibrate: bool = False, align: bool = False, points_per_batch: int | None = None) -> Result:
    """L((1 − t) θ_a + t θ_b) (Goodfellow, Vinyals & Saxe 2015), with the barrier of the path.

    Float buffers (BN running statistics) are interpolated the same way unless
    ``bn_recalibrate`` re-estimates them at every point. ``align=True`` first permutes the hidden
    units of ``model_b`` to match ``model_a`` (weight matching, Ainsworth et al. 2023; MLPs).
    value = losses; extra = t, errors, loss_barrier and error_barrier (if t spans [0, 1]).
    """
    if align:
        model_b = weight_matching(model_a, model_b)[0]
    ev = Evaluator(model_a, loss_fn, data, mode=mode, error_fn=error_fn, bn_recalibrate=bn_recalibrate,
                   points_per_batch=points_per_batch)
    ta, tb = ev.theta(), ParamSpace(model_a).flatten(snapshot(model_b)[0]).to(ev.space.device, ev.space.dtype)
    ts = _grid(span, steps)
    t = torch.as_tensor(ts, dtype=ta.dtype, device=ta.device)
    buf_a, buf_b = snapshot(model_a)[1], snapshot(model_b)[1]
    bp = lerp_buffers(buf_a, buf_b, t)
    # θ_a + t (θ_b − θ_a): exactly θ_a at t = 0 and for two identical models (barrier exactly 0).
    loss, err = ev(ta[None, :] + t[:, None] * (tb - ta)[None, :], bp)
    extra = {"t": ts, "errors": err}
    if ts.min() <= 0 <= 1 <= ts.max() and np.isclose(ts, 0).any() and np.isclose(ts, 1).any():
        extra["loss_barrier"] = barrier(ts, loss)
        extra["error_barrier"] = None if err is None else barrier(ts, err)
    settings = _settings(ev, {"span": list(span), "steps": steps, "align": align})
    return Result("linear_interpolation", loss, None, settings, extra)


def eigenvalue_ratio_map(model: nn.Module, loss_fn: Callable, data, *, directions="filter-normalized-gaussian",
                         span=(-1.0, 1.0), steps: int = 5, seed: int = 0, params="weights", mode: str = "eval",
                         tol: float = 1e-2, max_steps: int = 60) -> Result:
    """|λ_min/λ_max| of the Hessian at θ + α d₁ + β d₂ on a steps × steps grid (Li et al. 2018, Fig. 7).

    Li et al. map this ratio over their 2-D slice: near 0 the slice point is locally convex (negative
    curvature negligible next to positive), large values mean strong negative curvature. As in their
    code (``hess_vec_prod.min_max_hessian_eigs``: ``p.dim() > 1``, ``net.eval()``) the Hessian is that
    of the weights with more than one dimension (``params="weights"``; biases and BN affine parameters
    held fixed), or of ``params`` given as names (None: all). The directions are :func:`slice_2d`'s
    (same ``directions`` and ``seed`` give the same slice). Both extreme eigenvalues come from one
    Lanczos run (at most ``max_steps`` products), each to ``tol`` of the spectral radius (Li et al.:
    ``eigsh(tol=1e-2)``).

    value[i][j] = |λ_min/λ_max| at (alphas[i], betas[j]); extra: alphas, betas, lambda_min,
    lambda_max, converged, num_matvecs.
    """
    d1, d2 = landscape_directions(model, directions, num=2, seed=seed, loss_fn=loss_fn, data=data, mode=mode)
    space = ParamSpace(model)
    theta = space.flatten(snapshot(model)[0])
    which = "weights (dim > 1)" if params == "weights" else "all" if params is None else list(params)
    if params == "weights":
        params = [n for n, sh in zip(space.names, space.shapes) if len(sh) > 1]
    net = copy.deepcopy(model)
    named = dict(net.named_parameters())
    grid = _grid(span, steps)
    lam_min, lam_max, conv, products = (np.zeros((steps, steps)) for _ in range(4))
    for i, a in enumerate(grid):
        for j, b in enumerate(grid):
            with torch.no_grad():
                for n, t in space.unflatten(theta + float(a) * d1 + float(b) * d2).items():
                    named[n].copy_(t)
            r = extreme_eigenvalues(hessian(net, loss_fn, data, params=params, mode=mode), k=1, tol=tol,
                                    max_steps=max_steps, seed=seed)
            lam_max[i, j], lam_min[i, j] = r.value
            conv[i, j], products[i, j] = r.extra["converged"], r.extra["num_matvecs"]
    ratio = np.abs(lam_min) / np.where(lam_max > 0, lam_max, np.nan)
    settings = {**mode_settings(model, mode), "directions": directions if isinstance(directions, str) else "given",
                "span": list(span), "steps": steps, "seed": seed, "tol": tol, "max_steps": max_steps,
                "params": which}
    return Result("eigenvalue_ratio_map", ratio, None, settings,
                  {"alphas": grid, "betas": grid, "lambda_min": lam_min, "lambda_max": lam_max,
                   "converged": conv.astype(bool), "num_matvecs": int(products.sum())})
