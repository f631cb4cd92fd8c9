"""ε-sharpness of Keskar, Mudigere, Nocedal, Smelyanskiy & Tang 2017 ("On large-batch training for
deep learning: generalization gap and sharp minima", Metric 2.1):

    φ(ε, A) = 100 · (max_{y ∈ C_ε} f(w + A y) − f(w)) / (1 + f(w)),
    C_ε = {y : |y_i| ≤ ε (|(A⁺ w)_i| + 1)},

f the training loss (cross-entropy by default). Full space: A = I. Random subspace: A ∈ ℝ^{p×d}
with i.i.d. N(0, 1) entries (seeded), A⁺ its pseudo-inverse. The paper maximizes with L-BFGS-B;
here the same box-constrained maximum is approached by projected sign-gradient ascent
(:mod:`.ascent`), keeping the best iterate (so φ is a lower estimate of the true maximum).
Evaluated in eval mode on the data given; the model is never modified.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._core.data import pair, split_batches
from .._core.random import generator
from .._core.result import Result
from .._core.risk import Evaluator, classification_error
from .ascent import ascend
from .worst_case import _box_start

__all__ = ["keskar_sharpness"]


def keskar_sharpness(model: nn.Module, data, y=None, *, eps: float = 1e-3, subspace_dim: int | None = None,
                     steps: int = 20, seed: int = 0, batch_size: int = 1024, loss_fn: Callable = F.cross_entropy,
                     mode: str = "eval") -> Result:
    """Keskar et al. 2017 ε-sharpness φ(ε, A) in percent (Metric 2.1; module docstring).

    ``subspace_dim=None``: full space (A = I); an int d: random subspace A ∈ ℝ^{p×d}.
    """
    ev = Evaluator(model, loss_fn, split_batches(pair(data, y), batch_size), mode=mode)
    theta = ev.theta()
    f0 = float(ev(theta[None])[0][0])
    gen = generator(seed)
    step = 2.5 / max(steps, 1)  # a fraction of the box radius per step, as in PGD
    if subspace_dim is None:
        radius = eps * (theta.abs() + 1)
        best, _, _ = ascend(lambda v: ev.loss_and_grad(theta + v), _box_start(radius, gen), radius=radius,
                            steps=steps, step=step * radius, norm="inf")
    else:
        a = torch.randn(theta.numel(), subspace_dim, generator=gen, dtype=torch.float64)
        a_pinv_w = torch.linalg.lstsq(a, theta.detach().double().cpu()[:, None]).solution.reshape(-1)
        radius = eps * (a_pinv_w.abs() + 1)

        def f(v):  # v ∈ ℝ^d; u = A v; ∂f/∂v = Aᵀ ∂f/∂u
            value, g = ev.loss_and_grad(theta + (a @ v).to(theta.device, theta.dtype))
            return value, a.T @ g.double().cpu()

        best, _, _ = ascend(f, _box_start(radius, gen), radius=radius, steps=steps, step=step * radius, norm="inf")
    value = 100.0 * (max(best, f0) - f0) / (1.0 + f0)
    return Result("keskar_sharpness", value, settings=ev.settings(eps=eps, subspace_dim=subspace_dim, steps=steps,
                                                                   seed=seed),
                  extra={"loss": f0, "max_loss": best, "space": "full" if subspace_dim is None else "random subspace"})
