"""The mini-batch gradient-noise covariance of SGD as a matrix-free operator Σ_B = RᵀR.

For per-example gradients g_i = ∇ℓ(θ; x_i, y_i) over N examples with mean ḡ = ∇L(θ), the
covariance of one example's gradient is (Chaudhari & Soatto 2018, eq. (3); their D(x))

    D = (1/N) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ,

and the mean gradient ĝ_B of a mini-batch of B examples drawn without replacement has covariance

    Σ_B = Cov[ĝ_B] = D · (N − B) / (B (N − 1))          (≈ D/B for B ≪ N),

the noise of one SGD step η ĝ_B being η² Σ_B; Chaudhari & Soatto's temperature is β⁻¹ = η/(2B).
Two estimators, one operator:

* ``per_sample=True``: the rows of R are c·(g_i − ḡ)/√N, c² = (N − B)/(B(N − 1)), with every g_i from
  one vmapped ``torch.func.grad`` per chunk of examples (exact for the N examples given; batch norm
  must be in eval mode, where examples do not interact);
* ``num_batches=K``: K mini-batches of B examples are drawn (each without replacement, seeded), their
  gradients ĝ_k computed by an ordinary backward pass (any layer, batch norm in train mode included),
  and the rows of R are (ĝ_k − mean_k ĝ_k)/√(K − 1): the unbiased sample covariance of real
  mini-batch gradients.

Σ_B is never formed: Σ_B V = Rᵀ(R V) costs 2·m·p per vector for m rows and p parameters, and its
nonzero spectrum is that of the m×m Gram matrix R Rᵀ (or of RᵀR when p < m), so the trace, tr Σ²,
every eigenvalue and the count to 90 % of the trace are exact. R is kept in float64 (m·p·8 bytes,
checked against ``max_memory_mb``).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.func import grad, vmap

from .._core.data import as_tensors, data_hash
from .._core.params import ParamSpace, call
from .._core.random import generator
from .._core.state import mode_settings, snapshot, using_mode
from ..curvature.base import CurvatureOperator

__all__ = ["NoiseCovariance", "noise_covariance"]


class NoiseCovariance(CurvatureOperator):
    """Σ = RᵀR for rows R (m × p, float64); see the module docstring. ``row_norms_sq`` = ‖R_j‖² (for
    the standard error of the trace), ``mean_gradient`` = the mean of the gradients used."""

    def __init__(self, R: torch.Tensor, space: ParamSpace, mean_gradient: torch.Tensor, settings: dict):
        super().__init__(R.shape[1], space.dtype, space.device, settings)
        self.R, self.space, self.gradient = R, space, mean_gradient
        self.row_norms_sq = (R * R).sum(1)

    def _matmat(self, V):
        return (self.R.T @ (self.R @ V.to(self.R.dtype))).to(self.dtype)

    def spectrum(self) -> torch.Tensor:
        """Every nonzero-candidate eigenvalue of Σ, descending (float64): eigenvalues of the smaller
        of R Rᵀ and RᵀR (the others are exactly 0)."""
        R = self.R
        gram = R @ R.T if R.shape[0] <= R.shape[1] else R.T @ R
        return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0.0)


def noise_covariance(model: nn.Module, loss_fn: Callable, data, *, batch_size: int, num_batches: int | None = None,
                     per_sample: bool = True, seed: int = 0, mode: str = "eval", chunk: int = 256,
                     max_memory_mb: float = 2048.0) -> NoiseCovariance:
    """Σ_B, the covariance of the mean gradient of a mini-batch of ``batch_size`` examples of ``data``.

    Args:
        model: any ``nn.Module`` (only read, through ``functional_call``).
        loss_fn: ``loss_fn(outputs, targets) -> mean loss`` of a batch.
        data: ``(x, y)`` tensors or an iterable of ``(x, y)`` batches: the N examples SGD samples from.
        batch_size: B.
        num_batches: K sampled mini-batches (the sample covariance of their gradients); ``None`` with
            ``per_sample=True``: exact, from the N per-example gradients.
        seed: seeds the mini-batch draws (``num_batches``; unused by the exact estimator).
        mode: "eval" (default: BN running statistics, dropout off), "train" or "as-is" — recorded.
        chunk: examples per vmapped per-example gradient call (memory only).
        max_memory_mb: refuse (one line) when R would need more.
    """
    if num_batches is None and not per_sample:
        raise ValueError("choose an estimator: per_sample=True (exact) or num_batches=K (sampled mini-batches)")
    x, y = as_tensors(data)
    N, B = int(y.shape[0]), int(batch_size)
    if not 1 <= B <= N:
        raise ValueError(f"batch_size must lie in [1, N={N}], got {batch_size}")
    space = ParamSpace(model)
    m = num_batches if num_batches is not None else N
    need = m * space.dim * 8 / 2 ** 20
    if need > max_memory_mb:
        raise ValueError(f"noise covariance: {m} gradients × {space.dim} parameters need {need:.0f} MB > max_memory_mb="
                         f"{max_memory_mb:g}; use fewer examples or num_batches")
    fixed, buffers = snapshot(model)
    theta = space.flatten(fixed)
    settings = {"kind": "sgd_noise_covariance", **mode_settings(model, mode),
                "dtype": str(space.dtype).removeprefix("torch."), "device": str(space.device), "num_params": space.dim,
                "num_examples": N, "batch_size": B, "data_hash": data_hash([(x, y)])}

    def batch_loss(flat, xb, yb):
        return loss_fn(call(model, {**fixed, **space.unflatten(flat), **{k: v.clone() for k, v in buffers.items()}},
                                xb), yb)

    with using_mode(model, mode):
        if num_batches is None:
            if "train" in settings["bn_mode"]:
                raise ValueError("per-example gradients need batch norm in eval mode (mode='eval') or num_batches=K")
            one = vmap(grad(lambda f, xi, yi: batch_loss(f, xi[None], yi[None])), in_dims=(None, 0, 0))
            G = torch.cat([one(theta, x[j:j + chunk], y[j:j + chunk]).double() for j in range(0, N, chunk)])
            mean = G.mean(0)
            scale = math.sqrt((N - B) / (B * (N - 1)) / N) if N > 1 else 0.0
            R = (G - mean) * scale
            settings.update(estimator="per_sample", finite_population=True)
        else:
            if num_batches < 2:
                raise ValueError(f"num_batches must be ≥ 2 (a sample covariance), got {num_batches}")
            gen, rows = generator(seed), []
            for _ in range(num_batches):
                idx = torch.randperm(N, generator=gen)[:B].to(y.device)
                flat = theta.detach().clone().requires_grad_(True)
                with torch.enable_grad():
                    (g,) = torch.autograd.grad(batch_loss(flat, x[idx], y[idx]), flat)
                rows.append(g.detach().double())
            G = torch.stack(rows)
            mean = G.mean(0)
            R = (G - mean) / math.sqrt(num_batches - 1)
            settings.update(estimator="sampled_batches", num_batches=num_batches, seed=seed)
    return NoiseCovariance(R, space, mean.to(space.dtype), settings)
