"""Biases in a chain of linear maps: the constant-coordinate augmentation, with exact norms.

A layer with a bias computes the affine map x ↦ A x + c, c = the layer's output at x = 0 (its
bias broadcast over the output positions; BatchNorm in eval mode adds s ⊙ (b − μ) + β when folded
into the layer before it, β − s ⊙ μ on its own). On the augmented input x̃ = (x, 1) it is linear:

    Ã = [[A, c], [0, 1]]   (the last augmented layer drops the row [0, 1]: Ã = [A, c]),

and every parameter-free map σ between layers acts as σ̃(z, t) = (σ(z), t), which is
max(ρ, 1)-Lipschitz (‖σ(z) − σ(z′)‖² + (t − t′)² ≤ max(ρ, 1)² ‖(z, t) − (z′, t′)‖²) and has
σ̃(0) = 0 whenever σ(0) = 0. The network is then the bias-free chain x̃ ↦ Ãσ̃(⋯Ãx̃) on inputs
(x, 1), whose norms ‖x̃‖² = ‖x‖² + 1; any bound for bias-free chains (Bartlett et al. 2017) applies
to it, because the augmented matrices are a subset of the matrices the bound quantifies over.
The constant coordinate bypasses σ (it is never passed through it), so σ(1) ≠ 1 does not matter.

Reference matrices follow the same form: M̃ = [[M, c⁰], [0, 1]] with c⁰ the reference network's
offset (0 for M = 0), fixed before the data are seen, so the constant row never counts in
‖Ãᵀ − M̃ᵀ‖_{2,1} = Σ_r (‖A_r − M_r‖² + (c_r − c⁰_r)²)^{1/2}.
"""
from __future__ import annotations

import torch
from torch import nn

from .chain import BN_TYPES, Layer, apply_linear, bn_scale, folded_weight, trace_layers
from .layer_norms import row_power_sums
from .linear_map import linear_map_norm
from .operator import layer_operator_norm

__all__ = ["layer_offset", "augmented_norms"]


def layer_offset(layer: Layer, dtype=torch.float64) -> torch.Tensor:
    """c = the layer's output at x = 0 (bias, folded BatchNorm shift), flattened, CPU float64."""
    m = layer.module
    if isinstance(m, BN_TYPES):
        s = bn_scale(m, dtype)
        beta = m.bias.detach().to("cpu", dtype) if m.bias is not None else torch.zeros_like(s)
        vec = beta - s * m.running_mean.detach().to("cpu", dtype)
    else:
        n_out = m.weight.shape[0]
        vec = m.bias.detach().to("cpu", dtype) if m.bias is not None else torch.zeros(n_out, dtype=dtype)
        if layer.bn is not None:
            s = bn_scale(layer.bn, dtype)
            beta = layer.bn.bias.detach().to("cpu", dtype) if layer.bn.bias is not None else torch.zeros_like(s)
            vec = s * (vec - layer.bn.running_mean.detach().to("cpu", dtype)) + beta
    shape = layer.output_shape
    if isinstance(m, nn.Linear):  # the bias runs along the last axis
        return vec.expand(shape).reshape(-1)
    return vec.view(-1, *([1] * (len(shape) - 1))).expand(shape).reshape(-1)


def _augmented_spec(layer: Layer, weight: torch.Tensor, c: torch.Tensor, keep: bool, *, tol, seed) -> float:
    """‖Ã‖_σ of [[A, c], [0, 1]] (``keep``) or [A, c], by dense SVD or Lanczos on (x, t)."""
    d = layer.in_dim
    if isinstance(layer.module, nn.Linear) and len(layer.input_shape) == 1:  # Ã is small and explicit
        a = torch.cat([weight, c.reshape(-1, 1)], 1)
        if keep:
            a = torch.cat([a, torch.cat([torch.zeros(1, d, dtype=a.dtype), torch.ones(1, 1, dtype=a.dtype)], 1)], 0)
        return float(torch.linalg.matrix_norm(a, ord=2))

    def apply(z):
        z = z.reshape(len(z), d + 1)
        y = apply_linear(layer, z[:, :d].reshape(len(z), *layer.input_shape), weight).reshape(len(z), -1)
        y = y + z[:, d:] * c
        return torch.cat([y, z[:, d:]], 1) if keep else y

    return linear_map_norm(apply, (d + 1,), tol=tol, seed=seed)


def augmented_norms(model: nn.Module, input_shape, *, reference: nn.Module | None = None,
                    tol: float = 1e-12, seed: int = 0, trace=None) -> list[dict]:
    """Per-layer norms of the augmented chain (module docstring), in forward order.

    The constant coordinate is carried up to the last layer with an offset (layers after it are
    left as they are). Each row has ``name``, ``rho`` (max(ρ, 1) where σ̃ carries the constant),
    ``in_dim`` / ``out_dim`` (augmented), ``augmented`` (bool), ``spec`` (‖Ã‖_σ), ``l21`` / ``l21_dist``
    (‖Ãᵀ‖_{2,1}, ‖Ãᵀ − M̃ᵀ‖_{2,1}), ``l1`` / ``l1_dist`` (entrywise), ``fro_dense`` / ``dist_fro_dense``.
    """
    input_shape = tuple(input_shape)
    trace = trace if trace is not None else trace_layers(model, input_shape)
    layers = trace.layers
    ref_layers = trace_layers(reference, input_shape).layers if reference is not None else None
    if ref_layers is not None and [(type(a.module), a.input_shape) for a in ref_layers] != \
            [(type(b.module), b.input_shape) for b in layers]:
        raise ValueError("reference model does not have the same layer chain as the model")
    last = max((i for i, lay in enumerate(layers) if lay.has_bias), default=-1)
    rows = []
    for i, lay in enumerate(layers):
        w = folded_weight(lay)
        w0 = folded_weight(ref_layers[i]) if ref_layers is not None else torch.zeros_like(w)
        sq, dsq = row_power_sums(lay, w), row_power_sums(lay, w - w0)
        ab, dab = row_power_sums(lay, w, 1.0), row_power_sums(lay, w - w0, 1.0)
        aug, keep = i <= last, i < last
        c = layer_offset(lay) if aug else torch.zeros(lay.out_dim, dtype=torch.float64)
        c0 = layer_offset(ref_layers[i]) if (aug and ref_layers is not None) else torch.zeros_like(c)
        spec = (_augmented_spec(lay, w, c, keep, tol=tol, seed=seed) if aug
                else layer_operator_norm(lay, w, method="auto", tol=tol, seed=seed))
        rows.append(dict(
            name=lay.name, kind=type(lay.module).__name__, augmented=aug, keeps_constant=keep,
            rho=max(lay.rho, 1.0) if keep else lay.rho,
            in_dim=lay.in_dim + (1 if aug else 0), out_dim=lay.out_dim + (1 if keep else 0),
            spec=spec, rho_plain=lay.rho,
            l21=float((sq + c ** 2).sqrt().sum()) + (1.0 if keep else 0.0),
            l21_dist=float((dsq + (c - c0) ** 2).sqrt().sum()),
            l1=float(ab.sum() + c.abs().sum()) + (1.0 if keep else 0.0),
            l1_dist=float(dab.sum() + (c - c0).abs().sum()),
            fro_dense=float((sq.sum() + (c ** 2).sum() + (1.0 if keep else 0.0)).sqrt()),
            dist_fro_dense=float((dsq.sum() + ((c - c0) ** 2).sum()).sqrt()),
        ))
    return rows
