"""Generalization bounds evaluated to numbers, each flagged ``vacuous`` when it exceeds 1.

All bounds hold with probability ≥ 1 − δ over an i.i.d. training sample of size n. Data-dependent
quantities (norms, margin γ) are chosen after seeing the data, so every bound is made uniform by
a union bound over geometric grids: a quantity t > 0 is rounded to t' = base^j on the safe side
(norms up, γ down) and the grid point j is charged δ·w_j with w_j = 2 / (3 (|j|+1)(|j|+2))
(Σ_{j∈ℤ} w_j = 1), i.e. ln(1/δ) grows by Σ ln(1.5 (|j|+1)(|j|+2)). The bound is then minimized
over the γ grid, which the union bound covers.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._layers import trace_layers
from .complexity import spectral_complexity
from .margins import margins
from .result import Result

__all__ = ["spectral_margin_bound", "vc_bound", "fat_shattering_bound"]


def _grid(t: float, base: float, up: bool) -> tuple[float, float]:
    """(t rounded to the grid base^j, the union-bound cost ln(1/w_j))."""
    j = math.log(t) / math.log(base)
    j = math.ceil(j - 1e-12) if up else math.floor(j + 1e-12)
    return base ** j, math.log(1.5 * (abs(j) + 1) * (abs(j) + 2))


def _gamma_grid(m: torch.Tensor, base: float) -> list[float]:
    pos = m[m > 0]
    if len(pos) == 0:
        return []
    lo, hi = float(pos.min()), float(pos.max())
    j0, j1 = math.floor(math.log(lo) / math.log(base)), math.ceil(math.log(hi) / math.log(base))
    return [base ** j for j in range(j0, j1 + 1)]


def spectral_margin_bound(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, gamma: float | None = None,
                          delta: float = 0.05, reference=None, complexity: Result | None = None,
                          grid_base: float | None = None) -> Result:
    """Spectrally-normalized margin bound of Bartlett, Foster & Telgarsky 2017, with constants.

    Derivation (for fixed norm bounds ‖A_i‖_σ ≤ s_i, ‖A_iᵀ − M_iᵀ‖_{2,1} ≤ b_i and margin γ):

    1. Margin lemma (their Lemma 3.1 / Mohri et al. Thm 3.3 on the ramp loss ℓ_γ ∘ M):
       P[argmax_j f(x)_j ≠ y] ≤ R̂_γ(f) + 2 ℜ_S(F_γ) + 3 √(ln(2/δ) / 2n),
       R̂_γ = (1/n) #{i: M(f(x_i), y_i) ≤ γ}.
    2. Covering (their Thm 3.3): ln N(F|_S, ε, ‖·‖_F) ≤ ‖X‖_F² ln(2W²) R_A(s,b)² / ε², with
       R_A(s,b) = ∏ρ_i s_i (Σ (b_i/s_i)^{2/3})^{3/2} and W the largest layer width. ℓ_γ is
       1/γ-Lipschitz and M is 2-Lipschitz in ‖·‖_∞ ≤ ‖·‖₂, so ln N(F_γ, ε) ≤ 𝓡² / ε² with
       𝓡 = (2/γ) ‖X‖_F √(ln(2W²)) R_A(s,b).
    3. Dudley (their Lemma A.5): ℜ_S ≤ inf_α 4α/√n + (12/n) ∫_α^{√n} 𝓡/ε dε
       = inf_α 4α/√n + (12 𝓡/n) ln(√n/α), minimized at α = min(3𝓡/√n, √n).

    So P[err] ≤ R̂_γ + 2 ℜ + 3 √(ln(2/δ')/2n), δ' = δ ∏ w_j over the grid points of all s_i, b_i
    and γ (module docstring). ``gamma=None`` minimizes over the γ grid. Valid for bias-free
    chains (see :mod:`.complexity` for what is and is not accounted for). ``grid_base``
    defaults to 1 + 1/L, so rounding inflates ∏s_i by at most e.
    """
    n = len(x)
    if complexity is None:
        complexity = spectral_complexity(model, tuple(x.shape[1:]), reference=reference)
    rows = complexity.extra["layers"]
    base = grid_base or 1.0 + 1.0 / len(rows)
    cost, s, b = 0.0, [], []
    for r in rows:
        si, ci = _grid(max(r["spec"], 1e-300), base, up=True)
        bi, di = _grid(max(r["l21_dist"], 1e-300), base, up=True)
        s.append(si)
        b.append(bi)
        cost += ci + di
    r_a = math.prod(r["rho"] * si for r, si in zip(rows, s)) * sum((bi / si) ** (2 / 3) for bi, si in zip(b, s)) ** 1.5
    x_fro = float(x.double().pow(2).sum().sqrt())
    width = complexity.extra["max_width"]
    m = margins(model, x, y).double()
    gammas = [gamma] if gamma is not None else _gamma_grid(m, base)
    best = None
    for g in gammas:
        g_r, g_cost = _grid(g, base, up=False)
        big_r = (2.0 / g_r) * x_fro * math.sqrt(math.log(2 * width ** 2)) * r_a
        alpha = min(3 * big_r / math.sqrt(n), math.sqrt(n))
        rad = 4 * alpha / math.sqrt(n) + (12 * big_r / n) * math.log(math.sqrt(n) / alpha)
        emp = float((m <= g_r).double().mean())
        conf = 3 * math.sqrt((math.log(2 / delta) + cost + g_cost) / (2 * n))
        total = emp + 2 * rad + conf
        if best is None or total < best["bound"]:
            best = dict(bound=total, gamma=g_r, margin_error=emp, rademacher=rad, confidence=conf,
                        covering_radius=big_r)
    if best is None:  # no positive margin: the empirical term alone is 1
        best = dict(bound=1.0 + 3 * math.sqrt((math.log(2 / delta) + cost) / (2 * n)), gamma=None,
                    margin_error=1.0, rademacher=None, confidence=None, covering_radius=None)
    return Result("spectral_margin_bound", best["bound"],
                  settings={"delta": delta, "grid_base": base, "n": n, "gamma_given": gamma,
                            **{k: v for k, v in complexity.settings.items() if k != "tol"}},
                  extra={**best, "vacuous": best["bound"] > 1.0, "R_A": float(complexity),
                         "R_A_rounded": r_a, "x_fro": x_fro, "max_width": width, "union_cost": cost})


def vc_bound(vc_dim: float, n: int, *, delta: float = 0.05, train_error: float = 0.0,
             num_classes: int = 2) -> Result:
    """P[err] ≤ R̂ + √(2 ln Π(n) / n) + √(ln(1/δ) / 2n)   (Mohri et al., Cor. 3.19 route).

    From R ≤ R̂ + 2ℜ_n(loss class) + √(ln(1/δ)/2n) and Massart's lemma on the centred {0,1}
    loss vectors, 2ℜ_n ≤ √(2 ln Π(n)/n), Π the growth function. Sauer: ln Π(n) ≤ d ln(en/d)
    for n ≥ d, else n ln 2. For k > 2 classes, argmax is fixed by the k(k−1)/2 pairwise signs,
    each a net of the same architecture, so ln Π ≤ (k(k−1)/2)·d ln(en/d), capped at n ln k.
    """
    d = float(vc_dim)
    log_pi_bin = d * math.log(math.e * n / d) if n >= d else n * math.log(2)
    pairs = num_classes * (num_classes - 1) // 2
    log_pi = min(pairs * min(log_pi_bin, n * math.log(2)), n * math.log(num_classes))
    value = train_error + math.sqrt(2 * log_pi / n) + math.sqrt(math.log(1 / delta) / (2 * n))
    return Result("vc_bound", value, settings={"vc_dim": d, "n": n, "delta": delta, "num_classes": num_classes},
                  extra={"log_growth": log_pi, "train_error": train_error, "vacuous": value > 1.0,
                         "vc_dim_exceeds_n": d > n})


_ACTS = {nn.Tanh: (1.0, 0.0), nn.Sigmoid: (0.25, 0.5)}  # (Lipschitz constant, σ(0))


def fat_shattering_bound(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, gamma: float | None = None,
                         delta: float = 0.05, input_bound: float | None = None, grid_base: float = 2.0) -> Result:
    """Margin bound for two-layer sigmoid nets with ‖w‖₁ ≤ B via fat-shattering (Bartlett 1998).

    Class: f(x) = Σ_j w_j σ(v_j·x + c_j) + w_0 with ‖(w, w_0)‖₁ ≤ B, ‖(v_j, c_j)‖₁ ≤ V,
    ‖x‖_∞ ≤ X, σ ∈ {tanh, logistic} (L_σ-Lipschitz); binary labels, margin y·f(x).

    * Fat-shattering dimension: if F γ-shatters d points with witnesses r, then for every sign
      vector ε some f has Σ ε_i (f(x_i) − r_i) ≥ dγ, so dγ ≤ E sup_f Σ ε_i f(x_i) ≤ C√d with
      (Ledoux–Talagrand contraction, then Massart over the 2(D+1) signed coordinates)
      C = B · max(2 L_σ V X̃ √(2 ln(2D+2)) + |σ(0)|, 1), X̃ = max(X, 1). Hence fat_F(γ) ≤ (C/γ)²,
      independent of the number of hidden units — Bartlett's point.
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
    B, b_cost = _grid(float(w.abs().sum()), grid_base, up=True)
    V, v_cost = _grid(float(v.abs().sum(1).max()), grid_base, up=True)
    C = B * max(2 * l_sig * V * max(x_inf, 1.0) * math.sqrt(2 * math.log(2 * dim + 2)) + abs(s0), 1.0)
    m = margins(model, x, y).double()
    best = None
    for g in ([gamma] if gamma is not None else _gamma_grid(m, grid_base)):
        g_r, g_cost = _grid(g, grid_base, up=False)
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
