"""Sharpness of a minimum, several definitions side by side.

* λ_max(H) (Lanczos) and tr(H) (Hutch++) of the loss Hessian;
* average (adaptive) sharpness, Andriushchenko, Croce, Müller, Hein & Flammarion 2023:
      S_avg = E_{δ ~ N(0, ρ² diag(c²))} L(θ + δ) − L(θ),   c = |θ| (adaptive) or 1;
  a Monte-Carlo mean with its standard error;
* worst-case adaptive sharpness (Kwon et al. 2021, ASAM; Andriushchenko et al. 2023):
      S_max = max_{‖δ ⊘ c‖₂ ≤ ρ} L(θ + δ) − L(θ),
  by projected normalized gradient ascent from a seeded random start — any ascent finds a
  lower bound on the maximum, reported as such;
* Keskar et al. (2017) ε-sharpness, from the generalization instruments
  (``dlscope.measure.flatness_ascent.keskar_sharpness``).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ._curv_common import as_batches, call, data_hash, mode_settings, using_mode
from ._evaluate import Evaluator
from .result import Result

__all__ = ["average_sharpness", "adaptive_sharpness", "sharpness_summary"]


def _settings(ev, **kw):
    return {**mode_settings(ev.model, ev.mode), "dtype": str(ev.space.dtype).removeprefix("torch."),
            "data_hash": data_hash(ev.batches), **kw}


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
                  _settings(ev, rho=rho, num_samples=num_samples, adaptive=adaptive, seed=seed),
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
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(theta.numel(), generator=gen, dtype=torch.float64).to(theta.device, theta.dtype)
    u = u * (0.5 * rho / u.norm())
    base = float(ev(theta[None])[0][0])
    best, history = -math.inf, []
    with using_mode(model, mode):
        for _ in range(steps + 1):
            u = u.detach().requires_grad_(True)
            tensors = {**ev.fixed, **ev.space.unflatten(theta + c * u)}
            loss = sum(w * loss_fn(call(model, {**tensors, **{k: v.clone() for k, v in ev.buffers.items()}}, x), y)
                       for (x, y), w in zip(ev.batches, ev.weights))
            val = float(loss.detach()) - base
            history.append(val)
            best = max(best, val)
            g = torch.autograd.grad(loss, u)[0]
            with torch.no_grad():
                u = u + (2 * rho / steps) * g / g.norm().clamp_min(1e-300)
                u = u * torch.clamp(rho / u.norm(), max=1.0)
    return Result("adaptive_sharpness", best, None,
                  _settings(ev, rho=rho, steps=steps, seed=seed, adaptive=adaptive),
                  {"lower_bound": True, "loss": base, "ascent": history})


def sharpness_summary(model: nn.Module, loss_fn: Callable, data, *, seed: int = 0, rho: float = 0.05,
                      trace_matvecs: int = 100, num_samples: int = 100, keskar_eps: float = 1e-3,
                      mode: str = "eval") -> dict[str, Result]:
    """λ_max, tr(H), average and worst-case adaptive sharpness, and — for classification data
    (integer targets) — Keskar et al.'s ε-sharpness on the cross-entropy, each a :class:`Result`."""
    from .curvature import hessian
    from .flatness_ascent import keskar_sharpness
    from .lanczos import top_eigenvalues
    from .trace import trace

    H = hessian(model, loss_fn, data, mode=mode)
    out = {"lambda_max": top_eigenvalues(H, k=1, seed=seed, tol=1e-6),
           "trace": trace(H, num_matvecs=trace_matvecs, method="hutch++", seed=seed),
           "average_sharpness": average_sharpness(model, loss_fn, data, rho=rho, num_samples=num_samples,
                                                  seed=seed, mode=mode),
           "adaptive_sharpness": adaptive_sharpness(model, loss_fn, data, rho=rho, seed=seed, mode=mode)}
    batches = as_batches(data)
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    if not y.is_floating_point() and y.dim() == 1:
        # Metric 2.1 of Keskar et al. is defined on the training cross-entropy (the generalization
        # instruments' implementation, always in eval mode).
        out["keskar_sharpness"] = keskar_sharpness(model, x, y, eps=keskar_eps, seed=seed)
    return out
