"""The shape of SGD's noise: spectrum, effective rank, anisotropy and alignment with the Hessian.

Chaudhari & Soatto (ICLR 2018, §4 and Fig. 1) measure the diffusion matrix D of SGD (the per-example
gradient covariance; :mod:`.covariance`) on deep nets and find it highly non-isotropic and of low
rank ("as small as ~1 % of its dimension"); the implicit potential Φ of SGD equals the loss only when
D is isotropic. Zhu, Wu, Yu, Wu & Ma (ICML 2019) observe that the noise covariance is aligned with
the Hessian's top eigenspace. For Σ = Σ_B with eigenvalues λ_1 ≥ λ_2 ≥ … ≥ 0 on p parameters:

    trace            tr Σ = Σ_i λ_i                      (the noise scale; η tr Σ_B per unit time)
    effective rank   r_eff = (tr Σ)² / tr(Σ²)            (participation ratio; r_eff = p when isotropic)
    rank to 90 %     r_90 = min{r : Σ_{i≤r} λ_i ≥ 0.9 tr Σ}
    anisotropy       λ_max / (tr Σ / p)                  (1 when isotropic)
    alignment        ‖U_Σᵀ U_H‖_F² / k  ∈ [0, 1]         (top-k eigenvectors of Σ and of the Hessian H:
                     the mean squared cosine of the principal angles; k/p for random subspaces)

tr Σ, tr Σ², r_eff and r_90 come from the exact spectrum (the Gram matrix of the noise operator);
the top-k eigenpairs of Σ and of H from Lanczos (:func:`~dlscope.measure.top_eigenvalues`), with
their residuals. Both r_eff and r_90 are bounded by the number of gradients used minus one: the
ratio to that bound (``max_rank``) is reported beside the ratio to p.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .._core.result import Result
from ..curvature.lanczos import top_eigenvalues
from ..curvature.operator import hessian
from .covariance import noise_covariance

__all__ = ["sgd_noise"]


def sgd_noise(model: nn.Module, loss_fn: Callable, data, *, batch_size: int, num_batches: int | None = None,
              per_sample: bool = True, seed: int = 0, k: int = 10, lr: float | None = None, align: bool = True,
              mode: str = "eval", tol: float = 1e-6, max_memory_mb: float = 2048.0) -> Result:
    """Statistics of the mini-batch gradient-noise covariance Σ_B (see the module docstring).

    Args:
        model, loss_fn, data, batch_size, num_batches, per_sample, seed, mode, max_memory_mb: as in
            :func:`~dlscope.measure.noise_covariance` (``seed`` also seeds Lanczos).
        k: eigenpairs of Σ_B (and of the Hessian, for the alignment) computed by Lanczos.
        lr: η, to report the temperature η/(2B) and the noise scale η·tr Σ_B.
        align: compute the alignment with the Hessian's top-k eigenspace (k Lanczos eigenvectors of
            the Hessian of the mean loss over ``data``).
        tol: Lanczos tolerance.

    Returns:
        Result with value = tr Σ_B and stderr = the sampling error of that trace (sd of the per-row
        contributions / √rows); extra: ``top_eigenvalues`` (+ residuals), ``trace_per_example`` (tr D,
        per-example estimator only), ``effective_rank``, ``rank_90``, ``max_rank``, their fractions of p
        and of max_rank, ``anisotropy``, ``alignment`` (+ ``alignment_random``, ``hessian_top``),
        ``spectrum_head`` (the 200 largest eigenvalues), ``mean_gradient_norm_sq``, with ``lr``:
        ``temperature`` and ``noise_scale``.
    """
    op = noise_covariance(model, loss_fn, data, batch_size=batch_size, num_batches=num_batches, per_sample=per_sample,
                          seed=seed, mode=mode, max_memory_mb=max_memory_mb)
    p, rows = op.shape[0], op.R.shape[0]
    spec = op.spectrum()
    tr, tr2 = float(spec.sum()), float((spec ** 2).sum())
    k = max(1, min(k, p, rows - 1))
    top = top_eigenvalues(op, k, tol=tol, seed=seed, return_eigenvectors=align)
    contrib = rows * op.row_norms_sq  # mean of these = tr Σ
    se = float(contrib.std(unbiased=True) / math.sqrt(rows)) if rows > 1 else None
    max_rank = min(rows - 1, p)
    reff = tr ** 2 / tr2 if tr2 > 0 else 0.0
    r90 = int(torch.searchsorted(torch.cumsum(spec, 0), 0.9 * tr).item()) + 1 if tr > 0 else 0
    extra = {"top_eigenvalues": top.value, "residuals": top.extra["residuals"], "converged": top.extra["converged"],
             "effective_rank": reff, "rank_90": r90, "max_rank": max_rank, "num_params": p,
             "effective_rank_fraction": reff / p, "effective_rank_fraction_of_max": reff / max(max_rank, 1),
             "rank_90_fraction": r90 / p, "rank_90_fraction_of_max": r90 / max(max_rank, 1),
             "anisotropy": (top.value[0] * p / tr) if tr > 0 else math.nan, "trace_sq": tr2,
             "spectrum_head": spec[:200].tolist(), "mean_gradient_norm_sq": float(op.gradient.double() @ op.gradient.double())}
    if op.settings["estimator"] == "per_sample":
        N, B = op.settings["num_examples"], batch_size
        extra["trace_per_example"] = tr * B * (N - 1) / (N - B) if N > B else math.nan
    if lr is not None:
        extra.update(temperature=lr / (2 * batch_size), noise_scale=lr * tr)
    if align:
        H = top_eigenvalues(hessian(model, loss_fn, data, mode=mode), k, tol=tol, seed=seed, return_eigenvectors=True)
        U, V = top.extra["eigenvectors"], H.extra["eigenvectors"]
        extra.update(alignment=float((U.T @ V).pow(2).sum() / k), alignment_random=k / p, hessian_top=H.value)
    settings = {**op.settings, "k": k, "lr": lr, "align": align, "seed": seed, "tol": tol}
    return Result("sgd_noise", tr, se, settings, extra)
