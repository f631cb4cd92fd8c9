"""VC-dimension bounds of network architectures, evaluated for a concrete model's sizes.

Sizes (from the forward trace, so convolutions count every output pixel as a unit and shared
weights once): p parameters, L layers of linear maps, k computation units (every output
coordinate of every linear map), W_i parameters in layers 1..i, k_i units in layer i.
The VC dimension is that of sign(f) for a scalar-output net of this architecture.

* Linear threshold units (Baum & Haussler 1989; Anthony & Bartlett 1999, Thm 6.1):
  VCdim ≤ 2 p log₂(e k) = Õ(p).
* Piecewise-polynomial activations with `pieces` pieces of degree ≤ r — piecewise-linear (ReLU:
  2 pieces, r = 1) gives O(pL log p); r ≥ 2 gives Õ(pL²) (Bartlett, Harvey, Liaw & Mehrabian
  2019, "Nearly-tight VC-dimension and pseudodimension bounds for piecewise linear neural
  networks", proof of Thms 6–7). Evaluated from the argument itself rather than a simplified
  closed form: on m inputs, refine parameter space layer by layer; inside a cell, the
  pre-activations of layer i are polynomials of degree D_i (D_1 = 1, D_i = 1 + r D_{i−1}) in
  W_i variables, and the cell splits by the signs of M_i = m k_i (pieces − 1) of them (output:
  M_L = m signs). Warren's lemma (A&B Thm 8.3): ≤ 2(2e M D / N)^N sign patterns for M ≥ N
  polynomials in N variables (else ≤ 2^M). So Π(m) ≤ ∏_i min(2^{M_i}, 2(2e M_i D_i/W_i)^{W_i}),
  and VCdim < any m with 2^m > Π(m); we report the smallest such m found by bisection, minus 1.
* Lower bound for ReLU nets (BHLM 2019, Thm 3): *some* net with ≤ p parameters and ≤ L layers
  (not this architecture) has VCdim ≥ p L log₂(p/L) / C, for a universal constant C the theorem
  does not give. That is an order of growth, not a number to set beside the bounds: it is not
  in ``value`` but in ``extra['lower_bound_order']``: the expression and its growth around this
  net, :func:`lower_order_growth` (g(p′, L)/g(p, L) for g = p L log₂(p/L), in which C cancels)
  at p′ = p·2^e, e = −3…3.
* Standard sigmoid units (Karpinski & Macintyre 1997; A&B Thm 8.13):
  VCdim ≤ (p k)² + 11 p k log₂(18 p k²) = Õ(p²k²).
"""
from __future__ import annotations

import math

from torch import nn

from .._core.result import Result
from .._core.search import smallest_true
from ..norms.chain import trace_layers

__all__ = ["network_size", "vc_dimension_bounds", "piecewise_polynomial_vc_upper", "vc_bound", "n_for_nonvacuous",
           "lower_order_growth"]


def network_size(model: nn.Module, input_shape) -> dict:
    """p (trainable parameters), L (linear maps in the forward chain), k (units), and per layer."""
    trace = trace_layers(model, tuple(input_shape))
    per_layer, seen, cum = [], set(), 0
    for lay in trace.layers:
        mods = [lay.module] + ([lay.bn] if lay.bn is not None else [])
        new = sum(q.numel() for mod in mods if mod not in seen for q in mod.parameters() if q.requires_grad)
        seen.update(mods)
        cum += new
        per_layer.append({"name": lay.name, "params": new, "cum_params": cum, "units": lay.out_dim})
    p = sum(q.numel() for q in model.parameters() if q.requires_grad)
    return {"p": p, "L": len(per_layer), "k": sum(r["units"] for r in per_layer), "layers": per_layer}


def log2_sign_patterns(M: float, D: float, N: float) -> float:
    if M < N:
        return M
    return min(M, 1 + N * math.log2(2 * math.e * M * D / N))


def piecewise_polynomial_vc_upper(cum_params, units, *, pieces: int = 2, degree: int = 1) -> int:
    """Upper bound on VCdim from the BHLM growth-function argument (module docstring).

    ``cum_params[i]`` = W_i, ``units[i]`` = k_i for the L layers (the last is the output).
    """
    L = len(units)
    degs, d = [], 0
    for _ in range(L):
        d = 1 + degree * d
        degs.append(d)

    def log2_growth(m: int) -> float:
        total = 0.0
        for i in range(L):
            M = m if i == L - 1 else m * units[i] * (pieces - 1)
            total += log2_sign_patterns(M, degs[i], cum_params[i])
        return total

    return smallest_true(lambda m: m > log2_growth(m)) - 1


def vc_dimension_bounds(model: nn.Module, input_shape, *, pieces: int = 2, degree: int = 2) -> Result:
    """All VC-dimension bounds of the module docstring for this model's p, L, k.

    ``pieces``/``degree`` set the piecewise-polynomial bound (the piecewise-linear one always
    uses the model's p, L with 2 pieces, degree 1). ``value`` is a dict of bounds; ``extra`` the sizes.
    """
    size = network_size(model, input_shape)
    p, L, k = size["p"], size["L"], size["k"]
    cum = [r["cum_params"] for r in size["layers"]]
    cum[-1] = p  # parameters outside the chain (unused modules) still count as variables
    units = [r["units"] for r in size["layers"]]
    bounds = {
        "threshold_upper": 2 * p * math.log2(math.e * k),
        "piecewise_linear_upper": piecewise_polynomial_vc_upper(cum, units, pieces=2, degree=1),
        "piecewise_polynomial_upper": piecewise_polynomial_vc_upper(cum, units, pieces=pieces, degree=degree),
        "sigmoid_upper": (p * k) ** 2 + 11 * p * k * math.log2(18 * p * k ** 2),
    }
    return Result("vc_dimension_bounds", bounds,
                  settings={"input_shape": tuple(input_shape), "pieces": pieces, "degree": degree},
                  extra={"p": p, "L": L, "k": k, "layers": size["layers"],
                         "lower_bound_order": {
                             "expression": "Ω(p L log(p/L))",
                             "source": "Bartlett, Harvey, Liaw & Mehrabian 2019, Thm 3",
                             "constant": "unspecified universal C; holds for some net of ≤ p parameters and ≤ L layers",
                             "growth": {"p": [p * 2.0 ** e for e in range(-3, 4)],
                                        "ratio": lower_order_growth([p * 2.0 ** e for e in range(-3, 4)], p, L)
                                        if p > L else None}}})


def lower_order_growth(p_values, p: int, L: int) -> list[float]:
    """g(p′, L) / g(p, L) for g(p, L) = p L log₂(p/L): how the BHLM lower-bound *order* scales
    from a net of p parameters and L layers to p′ parameters (the unknown constant cancels)."""
    g = lambda q: q * L * math.log2(q / L)  # noqa: E731
    if p <= L:
        raise ValueError(f"the order p L log(p/L) needs p > L (p = {p}, L = {L})")
    return [g(q) / g(p) if q > L else 0.0 for q in p_values]


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


def n_for_nonvacuous(vc_dim: float, num_classes: int = 2, delta: float = 0.05) -> int:
    """Smallest n at which :func:`vc_bound` with zero training error drops below 1."""
    return smallest_true(lambda n: float(vc_bound(vc_dim, n, delta=delta, num_classes=num_classes)) < 1.0)
