"""Worst-case sharpness α′ by projected gradient ascent in a box around the weights.

Jiang et al. 2020 ("Fantastic generalization measures", §C.2, after Keskar et al. 2017): the
largest α such that acc(w + u*) ≥ acc(w) − Δ, where u* ≈ argmax_{|u_i| ≤ r_i} L(w + u) with
r_i = α (isotropic) or r_i = α (|w_i| + ε) (magnitude-aware), L the training loss (cross-entropy
by default). Measure: 1/α′². α′ is found by bisection in log α (:mod:`.._core.search`); u* by
projected sign-gradient ascent (:mod:`.ascent`) from a uniform random start in the box. The
ascent is a local search: a weaker adversary than the true maximizer makes α′ too large.
Evaluated in eval mode on the data given; the model is never modified.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._core.data import pair, split_batches
from .._core.random import generator
from .._core.result import Result
from .._core.risk import Evaluator, classification_error
from .._core.search import largest_true
from .ascent import ascend

__all__ = ["worst_case_sharpness"]


def _box_start(radius: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A uniform random point of the box |v_i| ≤ r_i (drawn in float64 on the CPU)."""
    u = torch.rand(radius.numel(), generator=gen, dtype=torch.float64).to(radius.device, radius.dtype)
    return (2 * u - 1) * radius


def worst_case_sharpness(model: nn.Module, data, y=None, *, drop: float = 0.1, steps: int = 10, seed: int = 0,
                         magnitude_aware: bool = False, eps: float = 1e-3, start: float = 0.01,
                         rel_tol: float = 0.05, max_iter: int = 20, batch_size: int = 1024,
                         loss_fn: Callable = F.cross_entropy, error_fn: Callable = classification_error,
                         mode: str = "eval") -> Result:
    """α′: the largest box half-width whose (ascent-found) worst case costs ≤ ``drop`` accuracy.

    Deterministic given ``seed`` (the ascent's random start), so ``stderr`` is ``None``; the
    ascent's incompleteness is a bias, not noise (module docstring).
    """
    ev = Evaluator(model, loss_fn, split_batches(pair(data, y), batch_size), mode=mode, error_fn=error_fn)
    theta = ev.theta()
    acc0 = 1.0 - float(ev(theta[None])[1][0])
    evals = {}

    def ok(alpha):
        r = alpha * (theta.abs() + eps) if magnitude_aware else torch.full_like(theta, alpha)
        _, v, _ = ascend(lambda v: ev.loss_and_grad(theta + v), _box_start(r, generator(seed)), radius=r,
                         steps=steps, step=(2.5 / max(steps, 1)) * r, norm="inf")
        acc = 1.0 - float(ev((theta + v)[None])[1][0])
        evals[alpha] = acc
        return acc >= acc0 - drop

    lo, hi, converged = largest_true(ok, start, rel_tol, max_iter)
    alpha = math.sqrt(lo * hi) if 0 < lo and math.isfinite(hi) else lo
    return Result("worst_case_sharpness_mag" if magnitude_aware else "worst_case_sharpness", alpha,
                  settings=ev.settings(seed=seed, steps=steps, drop=drop, magnitude_aware=magnitude_aware,
                                       eps=eps if magnitude_aware else None, rel_tol=rel_tol),
                  extra={"acc": acc0, "bracket": (lo, hi), "converged": converged,
                         "evaluations": sorted(evals.items())})
