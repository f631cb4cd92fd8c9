"""The functional-gradient lower bound at compositions of near-identities (Bartlett, Evans & Long 2018,
arXiv:1804.05012, Thm 3; the seed talk's "Stationary points").

For (X, Y) with any joint distribution, Q(h) = ½ E‖h(X) − Y‖², h* = E[Y | X], and h = h_m ∘ ⋯ ∘ h_1
with ‖h_i − Id‖_L ≤ ε < 1 and h_i(0) = 0: for every i,

    ‖D_{h_i} Q(h)‖ ≥ (1 − ε)^{m−1} (Q(h) − Q(h*)) / ‖h − h*‖,

with D_{h_i}Q the Fréchet derivative in h_i and ‖f‖ = sup_x ‖f(x)‖ / ‖x‖ the induced norm (so a
suboptimal near-identity composition is never stationary in function space).

Computed here for X uniform on a sample (x_j, y_j), j ≤ n (the empirical risk; h* is the mean of y
over equal x, so Q(h*) is the pure-noise part). With z_0 = x, z_k = h_k(z_{k−1}), r = h(x) − y and
J_{>i} the Jacobian of h_m ∘ ⋯ ∘ h_{i+1} at z_i, the derivative is

    D_{h_i}Q(h)(Δ) = (1/n) Σ_j r_jᵀ J_{>i}(z_{i,j}) Δ(z_{i−1,j}),

and over ‖Δ‖ ≤ 1 (Δ free at the n distinct points z_{i−1,j}, subject to ‖Δ(z)‖ ≤ ‖z‖) its norm is
exactly ‖D_{h_i}Q(h)‖ = (1/n) Σ_j ‖z_{i−1,j}‖ ‖J_{>i}ᵀ r_j‖, attained by Δ(z_{i−1,j}) = ‖z_{i−1,j}‖ u_j,
u_j = J_{>i}ᵀ r_j / ‖J_{>i}ᵀ r_j‖. (r_j may be replaced by h(x_j) − h*(x_j): the noise averages out.)
The proof (σ_min(J_{>i}) ≥ (1 − ε)^{m−i}, ‖z_{i−1}‖ ≥ (1 − ε)^{i−1}‖x‖, ‖x‖ ≥ ‖h − h*‖(x)/‖h − h*‖)
gives the bound with E‖h − h*‖² = 2(Q(h) − Q(h*)) on the right: a factor 2 to spare, so measured
ratios ≥ 2 are expected whenever ε bounds the layers.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..measure._core.result import Result

__all__ = ["gradient_lower_bound", "frechet_gradient_norms"]


def _conditional_mean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """h*(x_j) = mean of y over the rows equal to x_j."""
    _, inv = torch.unique(x, dim=0, return_inverse=True)
    sums = torch.zeros(int(inv.max()) + 1, y.shape[1], dtype=y.dtype).index_add_(0, inv, y)
    counts = torch.bincount(inv).to(y.dtype).unsqueeze(1)
    return (sums / counts)[inv]


def frechet_gradient_norms(layers: Sequence[Callable], x: torch.Tensor, y: torch.Tensor) -> dict:
    """‖D_{h_i}Q(h)‖ for every layer (exact, see the module docstring), Q(h), Q(h*), ‖h − h*‖."""
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).reshape(len(x), -1)
    h_star = _conditional_mean(x, y)
    zs = [x.detach().clone().requires_grad_(True)]
    for layer in layers:
        z = layer(zs[-1])
        z.retain_grad()
        zs.append(z)
    out = zs[-1]
    e = (out - h_star).detach()
    out.backward(e)  # zs[i].grad = J_{>i}ᵀ e row by row (the layers act on each row separately)
    with torch.no_grad():
        # layer k (0-based) reads z_k and writes z_{k+1}; z_{k+1}.grad = J_{>k+1}ᵀ e (= e for the last layer)
        lhs = [float((zs[k].norm(dim=1) * zs[k + 1].grad.norm(dim=1)).mean()) for k in range(len(layers))]
        q = 0.5 * float(((out - y) ** 2).sum(1).mean())
        q_star = 0.5 * float(((h_star - y) ** 2).sum(1).mean())
        xn = x.norm(dim=1)
        en = e.norm(dim=1)
        dist = float(torch.where(en > 0, en / xn, torch.zeros_like(en)).max())
    return {"norms": lhs, "Q": q, "Q_star": q_star, "distance": dist}


def gradient_lower_bound(layers: Sequence[Callable], x, y, *, eps: float, origin_tol: float = 1e-9) -> Result:
    """Check ‖D_{h_i}Q(h)‖ ≥ (1 − ε)^{m−1}(Q(h) − Q(h*))/‖h − h*‖ for every layer on the sample (x, y).

    ``layers``: callables on (N, d) float64 tensors, differentiable by autograd, each with
    h_i(0) = 0 (the induced norm's function space). ``eps``: a bound on max_i ‖h_i − Id‖_L (< 1).
    value = the smallest ratio left/right over layers (≥ 1 is the theorem; ``inf`` when h = h*
    on the sample, where both sides vanish); extra: per-layer left and right sides and ratios.
    """
    if not 0 <= eps < 1:
        raise ValueError(f"the bound needs near-identity layers, ε < 1; got ε = {eps:g}")
    layers = list(layers)
    if not layers:
        raise ValueError("no layers")
    x = torch.as_tensor(x, dtype=torch.float64)
    d = x.shape[1]
    zero = torch.zeros(1, d, dtype=torch.float64)
    with torch.no_grad():
        for i, layer in enumerate(layers):
            moved = float(layer(zero).norm())
            if moved > origin_tol:
                raise ValueError(f"layer {i + 1} moves the origin (‖h_i(0)‖ = {moved:.3g}): the theorem's "
                                 "function space (induced norm sup‖f(x)‖/‖x‖) needs h_i(0) = 0")
    g = frechet_gradient_norms(layers, x, y)
    m = len(layers)
    excess = g["Q"] - g["Q_star"]
    rhs = (1 - eps) ** (m - 1) * excess / g["distance"] if g["distance"] > 0 else 0.0
    ratios = [(lhs / rhs) if rhs > 0 else float("inf") for lhs in g["norms"]]
    return Result("gradient_lower_bound", min(ratios), None,
                  {"eps": eps, "m": m, "n": int(len(x)), "dtype": "float64"},
                  {"lhs": g["norms"], "rhs": rhs, "ratios": ratios, "Q": g["Q"], "Q_star": g["Q_star"],
                   "distance": g["distance"]})
