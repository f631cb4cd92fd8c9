"""Weight spectra of every layer: the empirical spectral density (ESD) of WᵀW and what is read off it.

Martin & Mahoney ("Implicit self-regularization in deep neural networks: evidence from random
matrix theory and implications for learning", JMLR 22, 2021; "Predicting trends in the quality
of state-of-the-art neural networks without access to training or testing data", Nature
Communications 12, 2021 — the ``weightwatcher`` package) read each layer's ESD, the eigenvalues
λ_i = σ_i² of WᵀW, for

* α — the exponent of a power law ρ(λ) ∝ λ^{−α} fitted to its tail, x_min chosen by the
  Clauset–Shalizi–Newman KS method, with the KS distance D (:mod:`.powerlaw`);
* the stable rank Σλ / λ_max = ‖W‖²_F / ‖W‖²_2;
* the Marchenko–Pastur law of a random matrix of the same shape: its bulk edge λ₊, the
  eigenvalues beyond it, and the KS distance to it (:mod:`.marchenko_pastur`).

What differs from ``weightwatcher``: a convolution's spectrum here is that of the *linear map the
layer computes* on its actual input size (:mod:`.layer_map`: exact FFT for circular padding,
the dense map for small inputs, otherwise an approximation that is labelled in ``method``),
not the k×k separate c_out × c_in slices of the kernel that ``weightwatcher`` analyses by
default; Conv1d and Conv3d are handled like Conv2d. Layers are found by the one layer tracer
(:func:`~dlscope.measure.trace_layers`, on ``input_shape``); BatchNorm is not folded in unless
``fold_bn=True`` (``weightwatcher`` reads the raw weights), and a lone BatchNorm (a diagonal
map) is not a layer here. A module called twice on the same input shape is measured once.
"""
from __future__ import annotations

import math

import numpy as np
from torch import nn

from .._core.result import Result
from ..norms.chain import BN_TYPES, folded_weight, trace_layers
from .layer_map import layer_singular_values, stable_rank
from .marchenko_pastur import mp_compare
from .powerlaw import fit_power_law

__all__ = ["weight_spectra"]


def weight_spectra(model: nn.Module, input_shape, *, fold_bn: bool = False, dense_max_dim: int = 2048,
                   min_tail: int = 10, max_candidates: int = 2000) -> Result:
    """Per-layer ESD statistics of ``model`` (module docstring). Exact; no randomness.

    Returns:
        Result with value = the mean α over the layers with a fit (``weightwatcher``'s summary
        "alpha"), stderr = √(Σ stderr_i²)/L; ``extra["layers"]``: one row per layer with
        name, kind, method, block_shape, n_eigenvalues, alpha, alpha_stderr, x_min, ks_distance,
        n_tail, stable_rank, spectral_norm (σ_max), frobenius_sq (Σλ), and the Marchenko–Pastur
        comparison (q, lambda_plus, num_spikes, max_over_edge, mp_ks); ``extra["eigenvalues"]``:
        {name: λ array, ascending} for plotting.
    """
    input_shape = tuple(input_shape)
    trace = trace_layers(model, input_shape, fold_bn=fold_bn)
    rows, eig, seen, skipped = [], {}, set(), []
    for lay in trace.layers:
        if isinstance(lay.module, BN_TYPES):
            continue
        key = (lay.name, lay.input_shape)
        if key in seen:
            continue
        seen.add(key)
        try:
            sv, method, block = layer_singular_values(lay, folded_weight(lay), dense_max_dim=dense_max_dim)
        except ValueError as e:
            skipped.append({"name": lay.name, "reason": str(e)})
            continue
        lam = np.sort(sv ** 2)
        fit = fit_power_law(lam, min_tail=min_tail, max_candidates=max_candidates)
        rows.append({"name": lay.name, "kind": type(lay.module).__name__, "method": method,
                     "block_shape": list(block), "n_eigenvalues": int(lam.size),
                     "alpha": float(fit.value), "alpha_stderr": float(fit.stderr),
                     "x_min": fit.extra["x_min"], "ks_distance": fit.extra["ks_distance"],
                     "n_tail": fit.extra["n_tail"], "stable_rank": stable_rank(lam),
                     "spectral_norm": float(math.sqrt(lam[-1])) if lam.size else math.nan,
                     "frobenius_sq": float(lam.sum()), **mp_compare(lam, *block)})
        eig[lay.name] = lam
    fitted = [r for r in rows if math.isfinite(r["alpha"])]
    mean = float(np.mean([r["alpha"] for r in fitted])) if fitted else math.nan
    se = math.sqrt(sum(r["alpha_stderr"] ** 2 for r in fitted)) / len(fitted) if fitted else math.nan
    settings = {"input_shape": input_shape, "fold_bn": fold_bn, "dense_max_dim": dense_max_dim,
                "min_tail": min_tail, "max_candidates": max_candidates,
                "eigenvalues": "λ = σ² of WᵀW (no 1/N normalization; α and the MP comparison are scale-free)",
                "bn_training_mode": trace.bn_training}
    return Result("weight_spectra_alpha", mean, se, settings,
                  {"layers": rows, "skipped": skipped, "eigenvalues": eig})
