"""Spectral complexity R_A and spectrally-normalized margins (Bartlett, Foster & Telgarsky 2017).

For a chain F_A(x) = σ_L(A_L σ_{L−1}(⋯ σ_1(A_1 x))) with ρ_i-Lipschitz σ_i and reference
matrices M_i, Bartlett et al. 2017 ("Spectrally-normalized margin bounds for neural networks",
eq. (1.2)) define

    R_A = (∏_{i=1}^L ρ_i ‖A_i‖_σ) · (Σ_{i=1}^L ‖A_iᵀ − M_iᵀ‖_{2,1}^{2/3} / ‖A_i‖_σ^{2/3})^{3/2},

with ‖Aᵀ‖_{2,1} the sum of the ℓ2 norms of the rows of A, and the normalized margin
M(F_A(x), y) / (R_A ‖X‖_F / n), the quantity whose density their Figures 1–2 plot.

The Frobenius variant (Neyshabur, Bhojanapalli & Srebro 2018, "A PAC-Bayesian approach to
spectrally-normalized margin bounds", Thm 1, whose bound grows with
∏‖A_i‖²_σ · Σ‖A_i − M_i‖²_F/‖A_i‖²_σ) is reported as its square root, of the same degree L in
the weights as R_A:  R_F = ∏ρ_i‖A_i‖_σ · (Σ ‖A_i − M_i‖²_F / ‖A_i‖²_σ)^{1/2}.

Norms are those of the exact dense maps (:func:`.norms.layer_norms`): operator norms of
convolutions on the traced input shape, BatchNorm folded. Caveats recorded in ``settings``:
the theory is for bias-free chains; biases and skip connections (invisible to the forward
trace) are not accounted for, so for residual nets R_A is the formula applied to the sequence
of layers, not a proven Lipschitz bound; layers beside the chain (projection shortcuts) are
listed in ``settings['parallel_layers']`` and still enter the product.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .._core.result import Result
from ..norms.chain import trace_layers
from ..norms.layer_norms import layer_norms
from ._union import gamma_grid, round_to_grid
from .margins import margins

__all__ = ["spectral_complexity", "normalized_margins", "reinitialized", "complexity_from_rows",
           "spectral_margin_bound"]


def reinitialized(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every ``reset_parameters()`` re-run under ``seed``.

    A fresh draw from the model's initialization distribution, *not* its actual initial weights
    (pass the initial model itself as ``reference`` for those). The global RNG is left untouched.
    """
    out = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in out.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return out


def _resolve_reference(model, reference, init_seed):
    if reference is None:
        return None, "zero"
    if isinstance(reference, str):
        if reference != "init":
            raise ValueError(f"reference must be None, 'init' or a model, not {reference!r}")
        return reinitialized(model, init_seed), f"fresh initialization (seed {init_seed})"
    return reference, "given model"


def complexity_from_rows(rows: list, *, from_reference: bool = True) -> tuple[float, float, float, float]:
    """(R_A, ∏ρ_i‖A_i‖_σ, Σ(b_i/s_i)^{2/3}, R_F) from :func:`.norms.layer_norms` rows.

    ``from_reference=False`` uses M_i = 0 even if the rows were computed against a reference.
    A layer with A_i = 0 (e.g. a zero-initialized residual branch) makes the chain constant:
    ∏ = 0 and R_A = 0; its own 0/0 ratio is left out of the sums.
    """
    l21, fro = ("l21_dist", "dist_fro_dense") if from_reference else ("l21", "fro_dense")
    rhos, specs = [r["rho"] for r in rows], [r["spec"] for r in rows]
    r_a, prod, sum_term = _r_a(rhos, specs, [r[l21] for r in rows])
    fro_term = sum((r[fro] / r["spec"]) ** 2 for r in rows if r["spec"] > 0)
    return r_a, prod, sum_term, prod * math.sqrt(fro_term)


def _r_a(rhos, specs, l21s) -> tuple[float, float, float]:
    """(R_A, ∏ρ_i s_i, Σ(b_i/s_i)^{2/3}) for spectral norms s_i and (2,1) norms b_i (eq. 1.2)."""
    prod = math.prod(r * s for r, s in zip(rhos, specs))
    sum_term = sum((b / s) ** (2.0 / 3.0) for s, b in zip(specs, l21s) if s > 0)
    return prod * sum_term ** 1.5, prod, sum_term


def spectral_complexity(model: nn.Module, input_shape, *, reference=None, init_seed: int = 0,
                        tol: float = 1e-12, seed: int = 0) -> Result:
    """R_A of Bartlett et al. 2017 (formula in the module docstring), with the per-layer norms.

    ``reference``: ``None`` (M_i = 0, as in the paper's experiments), a model with the same
    layer chain (e.g. the network at initialization), or ``"init"`` (a fresh draw of the
    initialization, see :func:`reinitialized`). ``value`` is R_A; ``extra`` holds
    ``prod_spec`` (∏ρ_i‖A_i‖_σ), ``sum_term`` (Σ(b_i/s_i)^{2/3}), ``frobenius_variant`` (R_F),
    ``max_width`` (W: the most units in any layer, inputs and outputs included) and ``layers``.
    Exact (no stderr): operator norms are converged to ``tol``; ``seed`` is Lanczos' start vector.
    """
    input_shape = tuple(input_shape)
    ref, ref_desc = _resolve_reference(model, reference, init_seed)
    trace = trace_layers(model, input_shape)
    rows = layer_norms(model, input_shape, reference=ref, tol=tol, seed=seed, trace=trace)
    r_a, prod, sum_term, r_f = complexity_from_rows(rows)
    width = max(max(r["in_dim"], r["out_dim"]) for r in rows)
    return Result(
        "spectral_complexity", r_a,
        settings={"input_shape": input_shape, "reference": ref_desc, "tol": tol, "seed": seed,
                  "batchnorm": "folded, running statistics", "bn_training_mode": trace.bn_training,
                  "assumed_1_lipschitz": trace.assumed_lipschitz,
                  "has_bias": any(r["has_bias"] for r in rows),
                  "assumption": "chain of module calls; functional ops and skip connections not seen",
                  "parallel_layers": [lay.name for lay in trace.layers if lay.parallel_to is not None]},
        extra={"prod_spec": prod, "sum_term": sum_term, "frobenius_variant": r_f,
               "max_width": width, "depth": len(rows), "layers": rows},
    )


def normalized_margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, input_shape=None,
                       reference=None, complexity: Result | float | None = None,
                       batch_size: int = 1024) -> torch.Tensor:
    """M(f(x_i), y_i) / (R_A ‖X‖_F / n) for every example (Bartlett et al. 2017, Figs 1–2).

    ‖X‖_F = (Σ_i ‖x_i‖²)^{1/2} over the n examples given. ``complexity``: a precomputed
    :func:`spectral_complexity` (Result or float) to skip recomputing R_A.
    """
    if complexity is None:
        shape = tuple(input_shape) if input_shape is not None else tuple(x.shape[1:])
        complexity = spectral_complexity(model, shape, reference=reference)
    r_a = float(complexity)
    scale = r_a * float(x.double().pow(2).sum().sqrt()) / len(x)
    return margins(model, x, y, batch_size=batch_size).double() / scale


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
        si, ci = round_to_grid(max(r["spec"], 1e-300), base, up=True)
        bi, di = round_to_grid(max(r["l21_dist"], 1e-300), base, up=True)
        s.append(si)
        b.append(bi)
        cost += ci + di
    r_a = _r_a([r["rho"] for r in rows], s, b)[0]
    x_fro = float(x.double().pow(2).sum().sqrt())
    width = complexity.extra["max_width"]
    m = margins(model, x, y).double()
    gammas = [gamma] if gamma is not None else gamma_grid(m, base)
    best = None
    for g in gammas:
        g_r, g_cost = round_to_grid(g, base, up=False)
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
