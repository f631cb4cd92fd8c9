"""Worst-case flatness by projected gradient ascent in a box around the weights.

* Worst-case sharpness α′ (Jiang et al. 2020, "Fantastic generalization measures", §C.2, after
  Keskar et al. 2017): the largest α such that acc(w + u*) ≥ acc(w) − Δ, where
  u* ≈ argmax_{|u_i| ≤ r_i} CE(w + u) with r_i = α (isotropic) or r_i = α (|w_i| + ε)
  (magnitude-aware). Measure: 1/α′². α′ is found by bisection in log α (see
  :mod:`.flatness`); u* by projected sign-gradient ascent from a uniform random start in the box.
  The ascent is a local search: a weaker adversary than the true maximizer makes α′ too large.
* ε-sharpness of Keskar et al. 2017 ("On large-batch training for deep learning: generalization
  gap and sharp minima", Metric 2.1):
      φ(ε, A) = 100 · (max_{y ∈ C_ε} f(w + A y) − f(w)) / (1 + f(w)),
      C_ε = {y : |y_i| ≤ ε (|(A⁺ w)_i| + 1)},
  f the training cross-entropy. Full space: A = I. Random subspace: A ∈ ℝ^{p×d} with i.i.d.
  N(0, 1) entries (seeded), A⁺ its pseudo-inverse. The paper maximizes with L-BFGS-B; here the
  same box-constrained maximum is approached by projected sign-gradient ascent, keeping the best
  iterate (so φ is a lower estimate of the true maximum).

All evaluations in eval mode on the data given; the model is restored bit-identically.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._perturb import Perturbed
from ._state import preserved
from .flatness import _bisect
from .result import Result

__all__ = ["worst_case_sharpness", "keskar_sharpness"]


def _ascend(pt: Perturbed, radius: list, steps: int, gen: torch.Generator, to_u=None, grad_map=None):
    """Projected sign-gradient ascent of CE over the box |v_i| ≤ radius_i; returns (best loss, best v).

    ``to_u`` maps box coordinates v to a weight perturbation u (default identity) and ``grad_map``
    pulls the gradient w.r.t. u back to v (default identity).
    """
    to_u = to_u or (lambda v: v)
    grad_map = grad_map or (lambda g: g)
    v = [(2 * torch.rand(r.shape, generator=gen, dtype=torch.float64) - 1).to(r.device, r.dtype) * r for r in radius]
    best_loss, best_v = -math.inf, None
    step = 2.5 / max(steps, 1)  # a fraction of the box radius per step, as in PGD (Madry et al. 2018)
    for _ in range(steps + 1):
        pt.set(to_u(v))
        loss, g = pt.loss_and_grad()
        if loss > best_loss:
            best_loss, best_v = loss, [vi.clone() for vi in v]
        gv = grad_map(g)
        v = [torch.maximum(torch.minimum(vi + step * ri * gi.sign(), ri), -ri) for vi, ri, gi in zip(v, radius, gv)]
    pt.set(None)
    return best_loss, best_v


def worst_case_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, drop: float = 0.1,
                         steps: int = 10, seed: int = 0, magnitude_aware: bool = False, eps: float = 1e-3,
                         start: float = 0.01, rel_tol: float = 0.05, max_iter: int = 20,
                         batch_size: int = 1024) -> Result:
    """α′: the largest box half-width whose (ascent-found) worst case costs ≤ ``drop`` accuracy.

    Deterministic given ``seed`` (the ascent's random start), so ``stderr`` is ``None``; the
    ascent's incompleteness is a bias, not noise (module docstring).
    """
    with preserved(model):
        pt = Perturbed(model, x, y, batch_size)
        acc0 = pt.accuracy()
        evals = {}

        def ok(alpha):
            r = [alpha * (w.abs() + eps) if magnitude_aware else torch.full_like(w, alpha) for w in pt.w0]
            _, v = _ascend(pt, r, steps, torch.Generator().manual_seed(seed))
            pt.set(v)
            acc = pt.accuracy()
            pt.set(None)
            evals[alpha] = acc
            return acc >= acc0 - drop

        lo, hi, converged = _bisect(ok, start, rel_tol, max_iter)
    alpha = math.sqrt(lo * hi) if 0 < lo and math.isfinite(hi) else lo
    return Result("worst_case_sharpness_mag" if magnitude_aware else "worst_case_sharpness", alpha,
                  settings={"seed": seed, "steps": steps, "drop": drop, "magnitude_aware": magnitude_aware,
                            "eps": eps if magnitude_aware else None, "rel_tol": rel_tol, "mode": "eval",
                            "n": len(x)},
                  extra={"acc": acc0, "bracket": (lo, hi), "converged": converged,
                         "evaluations": sorted(evals.items())})


def keskar_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float = 1e-3,
                     subspace_dim: int | None = None, steps: int = 20, seed: int = 0,
                     batch_size: int = 1024) -> Result:
    """Keskar et al. 2017 ε-sharpness φ(ε, A) in percent (Metric 2.1; module docstring).

    ``subspace_dim=None``: full space (A = I); an int d: random subspace A ∈ ℝ^{p×d}.
    """
    with preserved(model):
        pt = Perturbed(model, x, y, batch_size)
        f0 = pt.loss()
        gen = torch.Generator().manual_seed(seed)
        if subspace_dim is None:
            radius = [eps * (w.abs() + 1) for w in pt.w0]
            best, _ = _ascend(pt, radius, steps, gen)
        else:
            flat_w = torch.cat([w.reshape(-1) for w in pt.w0]).double().cpu()
            a = torch.randn(flat_w.numel(), subspace_dim, generator=gen, dtype=torch.float64)
            a_pinv_w = torch.linalg.lstsq(a, flat_w[:, None]).solution.reshape(-1)
            radius = [eps * (a_pinv_w.abs() + 1)]
            shapes = [w.shape for w in pt.w0]
            sizes = [w.numel() for w in pt.w0]
            ref = pt.w0[0]

            def to_u(v):
                flat = (a @ v[0]).to(ref.device, ref.dtype)
                return [c.reshape(s) for c, s in zip(flat.split(sizes), shapes)]

            def grad_map(g):
                return [a.T @ torch.cat([gi.reshape(-1) for gi in g]).double().cpu()]

            best, _ = _ascend(pt, radius, steps, gen, to_u=to_u, grad_map=grad_map)
    value = 100.0 * (max(best, f0) - f0) / (1.0 + f0)
    return Result("keskar_sharpness", value,
                  settings={"eps": eps, "subspace_dim": subspace_dim, "steps": steps, "seed": seed,
                            "mode": "eval", "n": len(x)},
                  extra={"loss": f0, "max_loss": best, "space": "full" if subspace_dim is None else "random subspace"})
