"""SGD as gradient descent on a smoothed loss (Kleinberg, Li & Yuan, ICML 2018).

Kleinberg et al. write an SGD step as x_{t+1} = x_t − η∇f(x_t) − ηW_t with zero-mean noise W_t; the
point y_t = x_t − η∇f(x_t) then follows gradient descent on the convolved loss
f_η(y) = E_W f(y − ηW) (their §3), which can be one-point convex towards a good solution x* even
where f has sharp local minima. Two instruments:

* :func:`one_point_convexity` — for points θ_t of a trajectory with final point θ_T and
  d_t = θ_T − θ_t: the cosine cos(−∇L(θ_t), d_t) (> 0: the gradient step moves towards θ_T), the
  one-point-convexity constant c_t = ⟨−∇L(θ_t), d_t⟩ / ‖d_t‖² (their Definition 1 asks
  ⟨−∇f(x), x* − x⟩ ≥ c‖x* − x‖²) and the directional curvature κ_t = d_tᵀ H(θ_t) d_t / ‖d_t‖²
  (the second derivative of L along the segment towards θ_T at θ_t; ≥ 0 where L is convex in that
  direction). Their §6 observes that after the first epochs of SGD on CIFAR-10 networks the
  direction to the final solution keeps a positive inner product with −∇f.
* :func:`smoothed_loss` — E_u L(θ + u), u ~ N(0, (r²/p) I) (isotropic, E‖u‖² = r²) or, given the SGD
  noise operator Σ_B (:func:`~dlscope.measure.noise_covariance`), u ~ N(0, r² Σ_B): with r = η this
  is exactly Kleinberg et al.'s f_η for Gaussian noise of SGD's covariance at (η, B). Antithetic pairs
  (u, −u) cancel the odd terms of the Taylor expansion; the standard error is that of the pair means.
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import torch
from torch import nn

from .._core.data import as_batches
from .._core.params import ParamSpace
from .._core.random import generator
from .._core.result import Result
from .._core.risk import Evaluator
from ..curvature.operator import hessian
from .covariance import NoiseCovariance

__all__ = ["one_point_convexity", "smoothed_loss"]


def _points(trajectory, model):
    """(step or index, state dict) for every item: modules, state dicts, or (step, state dict) pairs."""
    out = []
    for i, item in enumerate(trajectory):
        step, item = item if isinstance(item, tuple) else (i, item)
        if isinstance(item, nn.Module):
            item = item.state_dict()
        elif model is None:
            raise ValueError("a trajectory of state dicts needs model= (the architecture to load them into)")
        out.append((step, item))
    if len(out) < 2:
        raise ValueError("a trajectory needs at least two points (θ_t and the final θ_T)")
    return out


def one_point_convexity(trajectory: Sequence, loss_fn: Callable, data, *, model: nn.Module | None = None,
                        curvature: bool = True, mode: str = "eval") -> Result:
    """cos(−∇L(θ_t), θ_T − θ_t), c_t and κ_t for every θ_t of ``trajectory`` before its last point θ_T.

    Args:
        trajectory: modules, state dicts or ``(step, state dict)`` pairs (e.g.
            :func:`dlscope.train.read_snapshots`), in order; the last one is θ_T.
        loss_fn, data: the loss L (``loss_fn(outputs, targets)`` = mean loss of a batch) over ``data``.
        model: the architecture to load state dicts into (default: the first module of the trajectory);
            it is only read.
        curvature: also compute κ_t (one Hessian-vector product per point).
        mode: "eval" (default), "train" or "as-is"; recorded.

    Returns:
        Result with value = the fraction of points with cos > 0; extra: ``steps``, ``cos``, ``c``,
        ``kappa``, ``loss``, ``grad_norm``, ``distance`` (‖θ_T − θ_t‖), one entry per point.
    """
    pts = _points(trajectory, model)
    template = model if model is not None else next(i for i in trajectory if isinstance(i, nn.Module))
    work = copy.deepcopy(template)
    batches = as_batches(data)
    space = ParamSpace(work)
    final = space.flatten({n: pts[-1][1][n].to(space.device, space.dtype) for n in space.names})
    rows = {k: [] for k in ("steps", "cos", "c", "kappa", "loss", "grad_norm", "distance")}
    for step, state in pts[:-1]:
        work.load_state_dict(state)
        theta = space.flatten(dict(work.named_parameters())).detach()
        d = final - theta
        if curvature:
            H = hessian(work, loss_fn, batches, mode=mode, check_deterministic=False)
            loss, g = H.loss, H.gradient
            kappa = float(d @ (H @ d)) / float(d @ d) if float(d @ d) > 0 else math.nan
        else:
            loss, g = Evaluator(work, loss_fn, batches, mode=mode).loss_and_grad(theta)
            kappa = None
        gn, dn = float(g.norm()), float(d.norm())
        dot = -float(g @ d)
        rows["steps"].append(step)
        rows["cos"].append(dot / (gn * dn) if gn > 0 and dn > 0 else math.nan)
        rows["c"].append(dot / dn ** 2 if dn > 0 else math.nan)
        rows["kappa"].append(kappa)
        rows["loss"].append(float(loss))
        rows["grad_norm"].append(gn)
        rows["distance"].append(dn)
    frac = sum(c > 0 for c in rows["cos"]) / len(rows["cos"])
    settings = {"mode": mode, "num_points": len(pts) - 1, "curvature": curvature,
                "dtype": str(space.dtype).removeprefix("torch."), "num_params": space.dim}
    return Result("one_point_convexity", frac, None, settings, rows)


def smoothed_loss(model: nn.Module, loss_fn: Callable, data, *, radius: float, samples: int = 64, seed: int = 0,
                  noise: NoiseCovariance | None = None, mode: str = "eval") -> Result:
    """E_u L(θ + u) by ``samples`` antithetic pairs (2·samples evaluations); see the module docstring.

    Args:
        radius: r. Isotropic: u ~ N(0, (r²/p) I), so E‖u‖² = r². With ``noise`` = Σ_B: u ~ N(0, r² Σ_B),
            so r = η gives the noise of one SGD step at (η, B).
        samples: antithetic pairs (u, −u).
        seed: seeds the draws.
        noise: a :class:`NoiseCovariance` of the same model (u = r Rᵀξ, ξ ~ N(0, I)).
        mode: "eval" (default), "train" or "as-is"; recorded.

    Returns:
        Result with value = the estimate of E_u L(θ + u), stderr = sd of the pair means / √samples;
        extra: ``loss`` = L(θ), ``excess`` = value − L(θ) (same stderr), ``pairs`` (the pair means).
    """
    if radius < 0 or samples < 2:
        raise ValueError(f"radius must be ≥ 0 and samples ≥ 2, got radius={radius}, samples={samples}")
    ev = Evaluator(model, loss_fn, data, mode=mode)
    theta = ev.theta().detach()
    p, gen = theta.numel(), generator(seed)
    if noise is None:
        U = torch.randn(samples, p, generator=gen, dtype=torch.float64) * (radius / math.sqrt(p))
    else:
        if noise.shape[0] != p:
            raise ValueError(f"noise covariance has {noise.shape[0]} parameters, the model {p}")
        xi = torch.randn(samples, noise.R.shape[0], generator=gen, dtype=torch.float64).to(noise.R.device)
        U = radius * (xi @ noise.R)
    U = U.to(theta.device, theta.dtype)
    base, _ = ev(theta[None])
    plus, _ = ev(theta + U)
    minus, _ = ev(theta - U)
    pairs = (plus + minus) / 2
    mean, se = float(pairs.mean()), float(pairs.std(ddof=1) / math.sqrt(samples))
    settings = ev.settings(radius=radius, samples=samples, seed=seed, antithetic=True,
                           noise="isotropic" if noise is None else "sgd_covariance")
    return Result("smoothed_loss", mean, se, settings,
                  {"loss": float(base[0]), "excess": mean - float(base[0]), "pairs": pairs.tolist()})
