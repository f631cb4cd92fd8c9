"""The one gradient-ascent helper of the worst-case flatness measures.

Maximize f(v) over a set C by projected ascent from a given start, keeping the best iterate
(any ascent finds a lower bound on the maximum, which is how the callers report it):

* ``norm="inf"``: C = {|v_i| ≤ r_i} (a box), steps v ← Π_C(v + s ⊙ sign ∇f) — projected
  sign-gradient ascent as in PGD (Madry et al. 2018); used by Keskar et al.'s ε-sharpness and
  Jiang et al.'s worst-case α′;
* ``norm=2``: C = {‖v‖₂ ≤ r}, steps v ← Π_C(v + s ∇f/‖∇f‖) — normalized gradient ascent; used by
  adaptive worst-case sharpness (Kwon et al. 2021; Andriushchenko et al. 2023).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

__all__ = ["ascend"]


def ascend(f: Callable[[torch.Tensor], tuple[float, torch.Tensor]], v: torch.Tensor, *, radius, steps: int,
           step, norm) -> tuple[float, torch.Tensor, list]:
    """(best f, best v, history of f) after ``steps`` projected steps from ``v``.

    ``f(v) -> (value, gradient)``; ``radius``: a tensor like v (box) or a float (ball);
    ``step``: a tensor like v or a float.
    """
    if norm not in ("inf", 2):
        raise ValueError("norm must be 'inf' or 2")
    tiny = torch.finfo(v.dtype).tiny  # a dtype-aware floor: 1e-300 underflows to 0 in float32
    best, best_v, history = -math.inf, v.clone(), []
    for _ in range(steps + 1):
        value, g = f(v)
        history.append(value)
        if value > best:
            best, best_v = value, v.clone()
        with torch.no_grad():
            if norm == "inf":
                v = torch.maximum(torch.minimum(v + step * g.sign(), radius), -radius)
            else:
                v = v + step * g / g.norm().clamp_min(tiny)
                v = v * torch.clamp(radius / v.norm().clamp_min(tiny), max=1.0)
    return best, best_v, history
