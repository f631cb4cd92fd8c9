"""Margin bound for two-layer sigmoid nets through the fat-shattering dimension (Bartlett 1998).

See :func:`fat_shattering_bound`. Union bounds over B, V and γ as in :mod:`._union`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._core.result import Result
from ..norms.chain import trace_layers
from ._union import gamma_grid, round_to_grid
from .margins import margins

__all__ = ["fat_shattering_bound"]

_ACTS = {nn.Tanh: (1.0, 0.0), nn.Sigmoid: (0.25, 0.5)}  # (Lipschitz constant, σ(0))


def fat_shattering_bound(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, gamma: float | None = None,
                         delta: float = 0.05, input_bound: float | None = None, grid_base: float = 2.0) -> Result:
    """Margin bound for two-layer sigmoid nets with ‖w‖₁ ≤ B via fat-shattering (Bartlett 1998).

    Class: f(x) = Σ_j w_j σ(v_j·x + c_j) + w_0 with ‖(w, w_0)‖₁ ≤ B, ‖(v_j, c_j)‖₁ ≤ V,
    ‖x‖_∞ ≤ X, σ ∈ {tanh, logistic} (L_σ-Lipschitz); binary labels, margin y·f(x).

    * Fat-shattering dimension: if F γ-shatters d points with witnesses r, then for every sign
      vector ε some f has Σ ε_i (f(x_i) − r_i) ≥ dγ, so dγ ≤ E sup_f Σ ε_i f(x_i) ≤ C√d with
      C = B (2 L_σ V X̃ √(2 ln(2D+2)) + max(|σ(0)|, 1)), X̃ = max(X, 1). The steps:
      (i) a linear functional over the ℓ1 ball of radius B peaks at a vertex, so with
      S = Σ ε_i and u_j = Σ ε_i (σ(v_j·x_i + c_j) − σ(0)),
      sup_f Σ ε_i f(x_i) ≤ B max(max_j |u_j + σ(0) S|, |S|) ≤ B (max_j |u_j| + max(|σ(0)|, 1) |S|);
      (ii) E max ≤ E of the sum (not max of the expectations): E sup_{v,c} |u| ≤ 2 L_σ V E‖Σ ε_i x̃_i‖_∞
      (Ledoux–Talagrand contraction of the centred σ, then the ℓ1/ℓ∞ duality for ‖(v, c)‖₁ ≤ V)
      ≤ 2 L_σ V X̃ √(2 d ln(2D+2)) (Massart over the 2(D+1) signed coordinates of x̃ = (x, 1));
      (iii) E|S| ≤ √d (Jensen). Hence fat_F(γ) ≤ (C/γ)², independent of the number of hidden
      units — Bartlett's point. (An earlier version used B·max(a, 1), a = 2L_σVX̃√(2ln(2D+2)) +
      |σ(0)|, which step (ii) does not support: E max(X, Y) can exceed max(E X, E Y).)
    * Bartlett 1998, Thm 2: P[y f(x) ≤ 0] ≤ R̂_γ + √((2/n)(d ln(34en/d) log₂(578n) + ln(4/δ))),
      d = fat_F(γ/16), R̂_γ = fraction of training points with y f(x) < γ.

    B, V and γ are put on geometric grids with a union bound (module docstring); γ minimizes.
    ``input_bound`` X defaults to max|x| over the data given (then the class is conditioned on
    inputs bounded by what was seen — pass the domain's bound to avoid that). ``extra`` also has
    the direct Rademacher-route bound R̂_γ + 2C/(γ√n) + 3√(ln(2/δ')/2n) for comparison.
    """
    lin = [lay for lay in trace_layers(model, tuple(x.shape[1:])).layers]
    acts = [m for m in model.modules() if isinstance(m, tuple(_ACTS))]
    if len(lin) != 2 or not all(isinstance(lay.module, nn.Linear) for lay in lin) or lin[1].out_dim != 1 \
            or len(acts) != 1:
        raise ValueError("fat_shattering_bound needs Linear → Tanh|Sigmoid → Linear(·, 1)")
    l_sig, s0 = _ACTS[type(acts[0])]
    hid, out = lin[0].module, lin[1].module
    def with_bias(weight, bias, rows):  # [W | b]: a bias is the weight of a constant input 1
        b = bias.detach().double() if bias is not None else torch.zeros(rows, dtype=torch.float64, device=weight.device)
        return torch.cat([weight.detach().double(), b.reshape(rows, 1)], 1)

    v = with_bias(hid.weight, hid.bias, hid.out_features)
    w = with_bias(out.weight, out.bias, 1).reshape(-1)
    n, dim = len(x), hid.in_features
    x_inf = input_bound if input_bound is not None else float(x.abs().max())
    B, b_cost = round_to_grid(float(w.abs().sum()), grid_base, up=True)
    V, v_cost = round_to_grid(float(v.abs().sum(1).max()), grid_base, up=True)
    C = B * (2 * l_sig * V * max(x_inf, 1.0) * math.sqrt(2 * math.log(2 * dim + 2)) + max(abs(s0), 1.0))
    m = margins(model, x, y).double()
    best = None
    for g in ([gamma] if gamma is not None else gamma_grid(m, grid_base)):
        g_r, g_cost = round_to_grid(g, grid_base, up=False)
        log_inv_delta = math.log(4 / delta) + b_cost + v_cost + g_cost
        d = max(1, math.floor((16 * C / g_r) ** 2))
        emp = float((m < g_r).double().mean())
        # For d > n the theorem says nothing (its log term even turns negative): vacuous.
        slack = (math.sqrt((2 / n) * (d * math.log(34 * math.e * n / d) * math.log2(578 * n) + log_inv_delta))
                 if d <= n else math.inf)
        total = emp + slack
        rad_route = emp + 2 * C / (g_r * math.sqrt(n)) + 3 * math.sqrt((log_inv_delta - math.log(2)) / (2 * n))
        if best is None or (total, rad_route) < (best["bound"], best["rademacher_route"]):
            best = dict(bound=total, gamma=g_r, margin_error=emp, fat_dim=d, rademacher_route=rad_route)
    if best is None:
        best = dict(bound=float("inf"), gamma=None, margin_error=1.0, fat_dim=None, rademacher_route=None)
    return Result("fat_shattering_bound", best["bound"],
                  settings={"delta": delta, "grid_base": grid_base, "n": n, "input_bound": x_inf,
                            "activation": type(acts[0]).__name__},
                  extra={**best, "vacuous": best["bound"] > 1.0, "B": B, "V": V, "C": C})
