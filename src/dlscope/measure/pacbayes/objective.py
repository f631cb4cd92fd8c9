"""The differentiable PAC-Bayes objectives optimized over the posterior Q = N(μ, diag s²) and λ.

With the prior P_λ = N(μ_p, λI) over d parameters,

    KL(Q‖P_λ) = ½ [(Σ s_i² + ‖μ − μ_p‖²)/λ − d + d ln λ − Σ ln s_i²]      (:func:`.kl.gaussian_kl`)

and, for a λ off the grid, the union-bound charge of its continuous grid coordinate
j(λ) = b ln(c/λ) (Dziugaite & Roy 2017, §3; clamped at j = 1 as ``snn/core/network.py`` clamps it),

    B = (KL(Q‖P_λ) + ln(2√n/δ) + 2 ln j(λ) + ln(π²/6)) / n.

With L̂ the surrogate loss of one network drawn from Q on a minibatch (the reparametrization
θ = μ + s ⊙ z, z ~ N(0, I), one draw per step as in Dziugaite & Roy):

* ``"classic"`` — L̂ + √(B/2): the PAC-Bayes-kl bound relaxed by Pinsker's inequality, the objective
  of Dziugaite & Roy 2017, §3 (``PACB_objective``: cost = A + √(Bquad / 2(m−1))) and Pérez-Ortiz
  et al. 2021's f_classic (``pbb/bounds.py``);
* ``"quad"`` — (√(L̂ + B/2) + √(B/2))²: Pérez-Ortiz et al. 2021's f_quad, from the PAC-Bayes-
  quadratic bound (tighter than f_classic when L̂ is small).

Two surrogates of the 0-1 error: :func:`cross_entropy_bits`, −log₂ p_y, Dziugaite & Roy's logistic
loss divided by ln 2 (``snn/core/network.py`` ``logistic_loss``) for any number of classes — an upper
bound on the 0-1 error (a misclassified example has p_y ≤ ½), unbounded above; and
:func:`bounded_cross_entropy`, Pérez-Ortiz et al.'s −ln(max(p_y, p_min)) / ln(1/p_min) ∈ [0, 1]
(``pbb/models.py`` ``output_transform``, ``pbb/bounds.py`` ``compute_empirical_risk``; p_min = 10⁻⁴
as in ``PBBobj``), which is not above the 0-1 error (an error with p_y = ½ costs only 0.075), so the
objective then values accuracy less. Only the certificate, computed afterwards from the 0-1 error,
is a bound; the objective just finds a good Q.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["cross_entropy_bits", "bounded_cross_entropy", "OBJECTIVES", "kl_to_isotropic", "objective",
           "objective_partials"]

OBJECTIVES = ("quad", "classic")


def cross_entropy_bits(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """mean −log₂ softmax(outputs)_y: the cross-entropy in bits, ≥ the 0-1 error of the arg-max."""
    return F.cross_entropy(outputs, targets) / math.log(2)


def bounded_cross_entropy(pmin: float = 1e-4) -> Callable:
    """The loss (outputs, targets) ↦ mean −ln(max(softmax(outputs)_y, p_min)) / ln(1/p_min) ∈ [0, 1]."""
    if not 0 < pmin < 1:
        raise ValueError(f"pmin must lie in (0, 1), got {pmin}")
    scale = math.log(1 / pmin)

    def loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(outputs, dim=-1).clamp(min=math.log(pmin))
        return F.nll_loss(logp, targets) / scale

    loss.pmin = pmin
    return loss


def kl_to_isotropic(mu: torch.Tensor, log_s: torch.Tensor, mu_p: torch.Tensor, log_lam: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag e^{2 log_s}) ‖ N(μ_p, e^{log_lam} I)), differentiable (module docstring)."""
    d = mu.numel()
    sq = torch.exp(2 * log_s).sum() + (mu - mu_p).pow(2).sum()
    return 0.5 * (sq * torch.exp(-log_lam) - d + d * log_lam - 2 * log_s.sum())


def objective(kind: str, surrogate: torch.Tensor, kl: torch.Tensor, log_lam: torch.Tensor, n: int, delta: float,
              b: float, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective, B) for ``kind`` in :data:`OBJECTIVES` (module docstring)."""
    log_lam = torch.as_tensor(log_lam)
    j = (b * (math.log(c) - log_lam)).clamp(min=1.0)
    cost = 2 * torch.log(j) + math.log(math.pi ** 2 / 6)
    B = (kl + math.log(2 * math.sqrt(n) / delta) + cost) / n
    if kind == "classic":
        return surrogate + torch.sqrt(B / 2), B
    if kind == "quad":
        return (torch.sqrt(surrogate + B / 2) + torch.sqrt(B / 2)) ** 2, B
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {kind!r}")


def objective_partials(kind: str, surrogate: float, kl: float, log_lam: float, n: int, delta: float, b: float,
                       c: float) -> tuple[float, float, float, float]:
    """(f, ∂f/∂L̂, ∂f/∂KL, ∂f/∂ln λ at fixed KL) in closed form, for the objective f of :func:`objective`.

    With B = (KL + ln(2√n/δ) + 2 ln j + ln(π²/6))/n and j = b(ln c − ln λ) (∂B/∂ln λ = −2b/(j n) for
    j > 1, else 0): classic f = L̂ + √(B/2), ∂f/∂L̂ = 1, ∂f/∂B = 1/(4√(B/2)); quad f = (u + v)² with
    u = √(L̂ + B/2), v = √(B/2): ∂f/∂L̂ = (u + v)/u, ∂f/∂B = (u + v)(1/u + 1/v)/2.
    """
    j = b * (math.log(c) - log_lam)
    dj = -2 * b / (j * n) if j > 1 else 0.0
    j = max(j, 1.0)
    B = (kl + math.log(2 * math.sqrt(n) / delta) + 2 * math.log(j) + math.log(math.pi ** 2 / 6)) / n
    v = math.sqrt(B / 2)
    if kind == "classic":
        f, f_l, f_b = surrogate + v, 1.0, 1 / (4 * v)
    elif kind == "quad":
        u = math.sqrt(surrogate + B / 2)
        f, f_l, f_b = (u + v) ** 2, (u + v) / u, (u + v) * (1 / u + 1 / v) / 2
    else:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {kind!r}")
    return f, f_l, f_b / n, f_b * dj
