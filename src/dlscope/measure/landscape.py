"""Low-dimensional slices of the loss landscape (Goodfellow et al. 2015; Li et al. 2018).

    slice_1d:    L(θ + α d),           α on a grid
    slice_2d:    L(θ + α d₁ + β d₂),    (α, β) on a grid
    interpolate: L((1 − t) θ_a + t θ_b) along the segment between two models

Directions (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the loss landscape of neural
nets"): a centred Gaussian d ~ N(0, I), seeded, then *filter-normalized*: for every filter i of
every weight tensor (a row of a linear weight, an output channel of a conv kernel)

    d_i ← d_i · ‖θ_i‖ / ‖d_i‖,

which removes the scale invariance of ReLU nets so slices of different nets are comparable;
1-D parameters (biases, BN affine) get d = 0, as in the paper's ``ignore='biasbn'``. Or the top
Hessian eigenvectors (unit vectors, via :func:`top_eigenvalues`), or directions given as flat
tensors or {name: tensor} dicts. On accelerators grid points go through one vmapped forward
pass per ``points_per_batch`` parameter sets (default 32); on a CPU (default 1) they are
evaluated one by one on a private copy of the model. The caller's model is left bit-identical.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from ._curv_common import ParamSpace, snapshot
from ._evaluate import Evaluator, barrier
from .result import Result

__all__ = ["slice_1d", "slice_2d", "interpolate", "landscape_directions"]


def landscape_directions(model: nn.Module, kind="filter-normalized-gaussian", *, num: int = 2, seed: int = 0,
                         loss_fn: Callable | None = None, data=None, mode: str = "eval") -> list[torch.Tensor]:
    """``num`` flat directions in the space of ``model``'s trainable parameters (see module doc).

    ``kind``: "filter-normalized-gaussian", "gaussian" (unnormalized), "hessian-eigenvectors"
    (needs ``loss_fn`` and ``data``), or a list of flat tensors / {name: tensor} dicts.
    """
    space = ParamSpace(model)
    if not isinstance(kind, str):
        dirs = [space.flatten(d) if isinstance(d, dict) else torch.as_tensor(d).reshape(-1) for d in kind]
        if len(dirs) != num or any(d.numel() != space.dim for d in dirs):
            raise ValueError(f"expected {num} directions of size {space.dim}")
        return [d.to(space.device, space.dtype) for d in dirs]
    if kind == "hessian-eigenvectors":
        from .curvature import hessian
        from .lanczos import top_eigenvalues

        if loss_fn is None or data is None:
            raise ValueError("hessian-eigenvector directions need loss_fn and data")
        res = top_eigenvalues(hessian(model, loss_fn, data, mode=mode), k=num, seed=seed,
                              return_eigenvectors=True)
        return [res.extra["eigenvectors"][:, i].to(space.dtype) for i in range(num)]
    if kind not in ("filter-normalized-gaussian", "gaussian"):
        raise ValueError(f"unknown direction kind {kind!r}")
    gen = torch.Generator().manual_seed(seed)
    theta = snapshot(model)[0]
    dirs = []
    for _ in range(num):
        d = {}
        for n, s in zip(space.names, space.shapes):
            g = torch.randn(s, generator=gen, dtype=torch.float64)
            if kind == "filter-normalized-gaussian":
                w = theta[n].detach().cpu().double()
                if g.dim() <= 1:
                    g = torch.zeros_like(g)
                else:
                    g2, w2 = g.reshape(g.shape[0], -1), w.reshape(w.shape[0], -1)
                    g = (g2 * (w2.norm(dim=1) / g2.norm(dim=1).clamp_min(1e-300))[:, None]).reshape(s)
            d[n] = g
        dirs.append(space.flatten(d).to(space.device, space.dtype))
    return dirs


def _grid(span, steps):
    return np.linspace(float(span[0]), float(span[1]), int(steps))


def _settings(ev: Evaluator, extra: dict) -> dict:
    from ._curv_common import data_hash, mode_settings

    return {**mode_settings(ev.model, ev.mode), "dtype": str(ev.space.dtype).removeprefix("torch."),
            "data_hash": data_hash(ev.batches), "bn_recalibrate": ev.bn_recalibrate,
            "num_examples": sum(int(b[1].shape[0]) for b in ev.batches), **extra}


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
        from .alignment import weight_matching

        model_b = weight_matching(model_a, model_b)[0]
    ev = Evaluator(model_a, loss_fn, data, mode=mode, error_fn=error_fn, bn_recalibrate=bn_recalibrate,
                   points_per_batch=points_per_batch)
    ta, tb = ev.theta(), ParamSpace(model_a).flatten(snapshot(model_b)[0]).to(ev.space.device, ev.space.dtype)
    ts = _grid(span, steps)
    t = torch.as_tensor(ts, dtype=ta.dtype, device=ta.device)
    buf_a, buf_b = snapshot(model_a)[1], snapshot(model_b)[1]
    bp = {k: (torch.lerp(v[None].expand(len(ts), *v.shape), buf_b[k][None].expand(len(ts), *v.shape),
                         t.to(v.dtype).reshape(-1, *[1] * v.dim()))
              if v.is_floating_point() else v[None].expand(len(ts), *v.shape).clone())
          for k, v in buf_a.items()}
    # θ_a + t (θ_b − θ_a): exactly θ_a at t = 0 and for two identical models (barrier exactly 0).
    loss, err = ev(ta[None, :] + t[:, None] * (tb - ta)[None, :], bp or None)
    extra = {"t": ts, "errors": err}
    if ts.min() <= 0 <= 1 <= ts.max() and np.isclose(ts, 0).any() and np.isclose(ts, 1).any():
        extra["loss_barrier"] = barrier(ts, loss)
        extra["error_barrier"] = None if err is None else barrier(ts, err)
    settings = _settings(ev, {"span": list(span), "steps": steps, "align": align})
    return Result("linear_interpolation", loss, None, settings, extra)
