"""Low-loss paths between two minima (mode connectivity), for any ``nn.Module``.

Curves θ(t), t ∈ [0, 1], θ(0) = θ_A, θ(1) = θ_B, in the flat parameter space of the model,
evaluated through ``functional_call`` (no per-layer curve modules):

* ``"bezier"`` (Garipov, Izmailov, Podoprikhin, Vetrov & Wilson 2018):
  θ(t) = Σ_{k=0}^{K+1} C(K+1, k) tᵏ (1−t)^{K+1−k} P_k with P_0 = θ_A, P_{K+1} = θ_B and K
  trainable control points (K = 1: the quadratic curve of the paper);
* ``"polychain"``: the polygonal chain through P_0, ..., P_{K+1} at t = k/(K+1);
  both trained by SGD on the expected loss along the curve, E_{t~U[0,1]} L(θ(t)), one t per
  minibatch as in the paper;
* ``"neb"`` (Draxler, Veschgini, Salmhofer & Hamprecht 2018): nudged elastic band, pivots
  moved by the gradient component normal to the path plus spring forces along it, with
  AutoNEB pivot insertion where the loss between pivots bulges (see ``_neb``).

Barrier (the one definition for loss and error, also used by :func:`interpolate`):
    B = max_t [L(θ(t)) − ((1 − t) L(θ_A) + t L(θ_B))],
with t the curve parameter (Bezier, PolyChain) or the normalized arc length (NEB).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from .._core.params import call, lerp_buffers
from .._core.random import generator
from .._core.result import Result
from .._core.risk import Evaluator
from .._core.state import snapshot, using_mode
from .alignment import weight_matching
from .barrier import barrier
from .neb import autoneb

__all__ = ["find_path"]


def find_path(model_a: nn.Module, model_b: nn.Module, loss_fn: Callable, data, *, method: str = "bezier",
              num_bends: int = 1, steps: int = 1000, lr: float = 0.05, momentum: float = 0.9,
              batch_size: int = 128, seed: int = 0, eval_points: int = 41, mode: str = "eval",
              error_fn: Callable | None = None, bn_recalibrate: bool = False, align: bool = False,
              spring: float = 1.0, autoneb_cycles: int = 3, insert_tol: float = 1e-3) -> Result:
    """Train a low-loss path from ``model_a`` to ``model_b`` and report its barrier.

    Args:
        method: "bezier", "polychain" or "neb".
        num_bends: trainable control points (Bezier, PolyChain) or initial interior pivots (NEB).
        steps, lr, momentum, batch_size, seed: SGD on minibatches drawn from ``data``.
        eval_points: points of the final evaluation on all of ``data``.
        mode: module mode for training and evaluation ("eval" default; "train" for BN batch stats).
        error_fn: e.g. ``classification_error``, for the error barrier.
        bn_recalibrate: re-estimate BN statistics at each evaluated point (else interpolated).
        align: permute ``model_b``'s hidden units to ``model_a`` first (weight matching, MLPs).
        spring, autoneb_cycles, insert_tol: NEB spring constant, AutoNEB cycles and the loss bulge
            above which a pivot is inserted.

    Returns:
        Result(value = loss barrier); extra: t, losses, errors, loss_barrier, error_barrier,
        points (the control points / pivots, including both ends, as a K × n tensor), train_losses.
    """
    if method not in ("bezier", "polychain", "neb"):
        raise ValueError("method must be 'bezier', 'polychain' or 'neb'")
    if align:
        model_b = weight_matching(model_a, model_b)[0]
    ev = Evaluator(model_a, loss_fn, data, mode=mode, error_fn=error_fn, bn_recalibrate=bn_recalibrate)
    space = ev.space
    theta_a = ev.theta()
    theta_b = space.flatten(snapshot(model_b)[0]).to(space.device, space.dtype)
    buf_a, buf_b = ev.buffers, snapshot(model_b)[1]
    gen = generator(seed)
    batch_loss = _minibatch_loss(model_a, loss_fn, ev, space, batch_size, gen, mode)

    with using_mode(model_a, mode):
        if method == "neb":
            points, train_losses = autoneb(batch_loss, ev, theta_a, theta_b, num_pivots=num_bends, steps=steps,
                                           lr=lr, momentum=momentum, spring=spring, cycles=autoneb_cycles,
                                           insert_tol=insert_tol)
            path = lambda ts: polyline(points, ts, arc_length=True)  # noqa: E731
        else:
            points, train_losses = _train_curve(batch_loss, theta_a, theta_b, method, num_bends, steps, lr,
                                                momentum, gen)
            path = lambda ts: curve_coefficients(method, num_bends, ts) @ points  # noqa: E731

    ts = np.linspace(0.0, 1.0, eval_points)
    t = torch.as_tensor(ts, dtype=space.dtype, device=space.device)
    with torch.no_grad():
        losses, errors = ev(path(t), lerp_buffers(buf_a, buf_b, t))
    settings = {**ev.settings(), "method": method, "num_bends": num_bends, "steps": steps,
                "lr": lr, "momentum": momentum, "batch_size": batch_size, "seed": seed, "align": align,
                "bn_recalibrate": bn_recalibrate}
    if method == "neb":
        settings.update(spring=spring, autoneb_cycles=autoneb_cycles, insert_tol=insert_tol)
    extra = {"t": ts, "losses": losses, "errors": errors, "loss_barrier": barrier(ts, losses),
             "error_barrier": None if errors is None else barrier(ts, errors),
             "points": points.detach(), "train_losses": train_losses}
    return Result("mode_connectivity", extra["loss_barrier"], None, settings, extra)


def _minibatch_loss(model, loss_fn, ev, space, batch_size, gen, mode):
    """θ ↦ loss on the next minibatch (epochs of ``randperm`` slices over all of the data)."""
    xs = torch.cat([b[0] for b in ev.batches])
    ys = torch.cat([b[1] for b in ev.batches])
    n = len(ys)
    state = {"perm": torch.randperm(n, generator=gen), "pos": 0}

    def next_batch():
        if state["pos"] + min(batch_size, n) > n:
            state["perm"], state["pos"] = torch.randperm(n, generator=gen), 0
        idx = state["perm"][state["pos"]: state["pos"] + batch_size].to(ys.device)
        state["pos"] += batch_size
        return xs[idx], ys[idx]

    def loss_at(thetas: list[torch.Tensor], batch=None):
        x, y = next_batch() if batch is None else batch
        out = []
        for th in thetas:
            tensors = {**ev.fixed, **space.unflatten(th), **{k: v.clone() for k, v in ev.buffers.items()}}
            out.append(loss_fn(call(model, tensors, x), y))
        return out, (x, y)

    return loss_at


def curve_coefficients(method, K, t: torch.Tensor) -> torch.Tensor:
    """(len(t), K + 2) weights of P_0..P_{K+1} at each t."""
    t = t.reshape(-1, 1)
    k = torch.arange(K + 2, dtype=t.dtype, device=t.device).reshape(1, -1)
    if method == "bezier":
        binom = torch.tensor([math.comb(K + 1, int(i)) for i in range(K + 2)], dtype=t.dtype, device=t.device)
        return binom * t ** k * (1 - t) ** (K + 1 - k)
    knots = k / (K + 1)
    return torch.clamp(1 - (t - knots).abs() * (K + 1), min=0.0)  # hat functions


def _train_curve(batch_loss, theta_a, theta_b, method, K, steps, lr, momentum, gen):
    # Control points start on the segment (Garipov et al. initialize at the midpoint for K = 1).
    init = torch.stack([theta_a + (k / (K + 1)) * (theta_b - theta_a) for k in range(1, K + 1)])
    controls = init.clone().requires_grad_(True)
    opt = torch.optim.SGD([controls], lr=lr, momentum=momentum)
    history = []
    for step in range(steps):
        t = torch.rand(1, generator=gen, dtype=theta_a.dtype).to(theta_a.device)
        c = curve_coefficients(method, K, t)[0]
        theta_t = c[0] * theta_a + c[-1] * theta_b + (c[1:-1, None] * controls).sum(0)
        (loss,), _ = batch_loss([theta_t])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(1, steps // 20) == 0 or step == steps - 1:
            history.append(float(loss.detach()))
    points = torch.cat([theta_a[None], controls.detach(), theta_b[None]])
    return points, history


def polyline(points: torch.Tensor, t: torch.Tensor, arc_length: bool) -> torch.Tensor:
    """Points on the polygonal chain through ``points`` at fractions t of its (arc) length."""
    seg = (points[1:] - points[:-1]).norm(dim=1) if arc_length else torch.ones(len(points) - 1, dtype=points.dtype)
    cum = torch.cat([seg.new_zeros(1), seg.cumsum(0)])
    total = cum[-1] if cum[-1] > 0 else seg.new_ones(())
    s = t.to(points.dtype) * total
    i = torch.clamp(torch.searchsorted(cum, s, right=True) - 1, 0, len(seg) - 1)
    frac = torch.where(seg[i] > 0, (s - cum[i]) / seg[i].clamp_min(torch.finfo(seg.dtype).tiny), torch.zeros_like(s))
    return points[i] + frac[:, None] * (points[i + 1] - points[i])
