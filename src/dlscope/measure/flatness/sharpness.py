"""Sharpness of a minimum, several definitions side by side.

* λ_max(H) (Lanczos) and tr(H) (Hutch++) of the loss Hessian;
* average (adaptive) sharpness, Andriushchenko, Croce, Müller, Hein & Flammarion 2023:
      S_avg = E_{δ ~ N(0, ρ² diag(c²))} L(θ + δ) − L(θ),   c = |θ| (adaptive) or 1;
  a Monte-Carlo mean with its standard error;
* worst-case adaptive sharpness (Kwon et al. 2021, ASAM; Andriushchenko et al. 2023):
      S_max = max_{‖δ ⊘ c‖₂ ≤ ρ} L(θ + δ) − L(θ),
  by projected normalized gradient ascent from a seeded random start — any ascent finds a
  lower bound on the maximum, reported as such;
* Keskar et al. (2017) ε-sharpness (:mod:`.keskar2017`).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .._core.data import as_batches, as_tensors
from .._core.random import generator
from .._core.result import Result
from .._core.risk import Evaluator
from ..curvature.lanczos import top_eigenvalues
from ..curvature.operator import hessian
from ..curvature.trace import trace
from .ascent import ascend
from .keskar2017 import keskar_sharpness

__all__ = ["average_sharpness", "adaptive_sharpness", "sharpness_summary"]


def average_sharpness(model: nn.Module, loss_fn: Callable, data, *, rho: float = 0.05, num_samples: int = 100,
                      adaptive: bool = True, seed: int = 0, mode: str = "eval",
                      points_per_batch: int | None = None) -> Result:
    """E_δ L(θ + δ) − L(θ), δ ~ N(0, ρ² diag(c²)), c = |θ| if ``adaptive`` else 1 (see module doc)."""
    ev = Evaluator(model, loss_fn, data, mode=mode, points_per_batch=points_per_batch)
    theta = ev.theta()
    c = theta.abs() if adaptive else torch.ones_like(theta)
    gen = torch.Generator().manual_seed(seed)
    delta = torch.randn(num_samples, theta.numel(), generator=gen, dtype=torch.float64).to(theta.device, theta.dtype)
    base = ev(theta[None])[0][0]
    perturbed = ev(theta[None] + rho * c[None] * delta)[0] - base
    return Result("average_sharpness", float(perturbed.mean()), float(perturbed.std(ddof=1) / math.sqrt(num_samples)),
                  ev.settings(rho=rho, num_samples=num_samples, adaptive=adaptive, seed=seed),
                  {"loss": float(base)})


def adaptive_sharpness(model: nn.Module, loss_fn: Callable, data, *, rho: float = 0.05, steps: int = 20,
                       seed: int = 0, mode: str = "eval", adaptive: bool = True) -> Result:
    """A lower bound on max_{‖δ ⊘ c‖ ≤ ρ} L(θ + δ) − L(θ) by projected gradient ascent.

    Ascent on u = δ ⊘ c in the ball ‖u‖ ≤ ρ: u ← Π(u + (2ρ/steps)·∇_u L / ‖∇_u L‖), from a
    random start of radius ρ/2; the best value seen is returned.
    """
    ev = Evaluator(model, loss_fn, data, mode=mode)
    theta = ev.theta()
    c = theta.abs() if adaptive else torch.ones_like(theta)
    u = torch.randn(theta.numel(), generator=generator(seed), dtype=torch.float64).to(theta.device, theta.dtype)
    u = u * (0.5 * rho / u.norm())
    base = float(ev(theta[None])[0][0])

    def f(u):  # L(θ + c ⊙ u) − L(θ) and its gradient in u
        value, g = ev.loss_and_grad(theta + c * u)
        return value - base, c * g

    best, _, history = ascend(f, u, radius=rho, steps=steps, step=2 * rho / steps, norm=2)
    return Result("adaptive_sharpness", best, None,
                  ev.settings(rho=rho, steps=steps, seed=seed, adaptive=adaptive),
                  {"lower_bound": True, "loss": base, "ascent": history})


def sharpness_summary(model: nn.Module, loss_fn: Callable, data, *, seed: int = 0, rho: float = 0.05,
                      trace_matvecs: int = 100, num_samples: int = 100, keskar_eps: float = 1e-3,
                      mode: str = "eval") -> dict[str, Result]:
    """λ_max, tr(H), average and worst-case adaptive sharpness, and — for classification data
    (integer targets) — Keskar et al.'s ε-sharpness on the cross-entropy, each a :class:`Result`."""
    data = as_batches(data)  # read once: several instruments pass over it
    H = hessian(model, loss_fn, data, mode=mode)
    out = {"lambda_max": top_eigenvalues(H, k=1, seed=seed, tol=1e-6),
           "trace": trace(H, num_matvecs=trace_matvecs, method="hutch++", seed=seed),
           "average_sharpness": average_sharpness(model, loss_fn, data, rho=rho, num_samples=num_samples,
                                                  seed=seed, mode=mode),
           "adaptive_sharpness": adaptive_sharpness(model, loss_fn, data, rho=rho, seed=seed, mode=mode)}
    x, y = as_tensors(data)
    if not y.is_floating_point() and y.dim() == 1:
        # Metric 2.1 of Keskar et al. is defined on the training cross-entropy (the generalization
        # instruments' implementation, always in eval mode).
        out["keskar_sharpness"] = keskar_sharpness(model, (x, y), eps=keskar_eps, seed=seed, mode=mode)
    return out
