"""Per-layer norms of a network: the raw material of norm-based capacity measures.

Neyshabur, Bhojanapalli, McAllester & Srebro 2017 ("Exploring generalization in deep learning")
and Jiang, Neyshabur, Mobahi, Krishnan & Bengio 2020 ("Fantastic generalization measures and
where to find them", App. C) build measures from, per layer i with weight W_i (reference /
initial weight W⁰_i):

* ‖W_i‖_F, ‖W_i − W⁰_i‖_F — Frobenius norms of the weight *tensors* (parameter norms);
* ‖A_i‖_σ — the exact operator norm of the map the layer computes (:mod:`.operator`);
* ‖A_iᵀ − M_iᵀ‖_{2,1} = Σ_rows ‖(A_i − M_i)_{r,:}‖₂ and ‖A_i − M_i‖_F of the *dense* matrix A_i of
  the layer on its input shape (for a convolution every output pixel is a row; rows at the border
  lose the taps that fall in the zero padding), as Bartlett et al. 2017 define them;
Layers are found by :func:`.chain.trace_layers` (forward order, eval-mode BatchNorm folded
into the preceding linear map).
"""
from __future__ import annotations

import torch
from torch import nn

from .chain import Layer, apply_linear, folded_weight, trace_layers
from .operator import layer_operator_norm

__all__ = ["layer_norms", "row_power_sums"]


def row_power_sums(layer: Layer, weight: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Σ_j |A_{r,j}|^p for every row r (output unit) of the dense matrix of the map (p = 2: ‖A_r‖²)."""
    m = layer.module
    if not isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) or m.padding_mode == "zeros":
        # Every entry of A is one weight or 0 (zero padding drops taps), so applying the map
        # with weights |w|^p to all ones sums exactly the p-th powers of the entries of each row.
        ones = torch.ones(1, *layer.input_shape, dtype=weight.dtype)
        with torch.no_grad():
            return apply_linear(layer, ones, weight.abs().pow(p)).reshape(-1)
    # Circular/reflect padding can map two taps onto one input pixel (their weights add in A):
    # read the rows off exactly as Aᵀ e_r, in chunks.
    out_dim, rows = layer.out_dim, []
    for start in range(0, out_dim, 256):
        idx = torch.arange(start, min(start + 256, out_dim))
        e = torch.zeros(len(idx), out_dim, dtype=weight.dtype)
        e[torch.arange(len(idx)), idx] = 1.0
        x = torch.zeros(len(idx), *layer.input_shape, dtype=weight.dtype, requires_grad=True)
        y = apply_linear(layer, x, weight)
        (g,) = torch.autograd.grad(y, x, grad_outputs=e.reshape(y.shape))
        rows.append(g.reshape(len(idx), -1).abs().pow(p).sum(1))
    return torch.cat(rows)


def layer_norms(model: nn.Module, input_shape, *, reference: nn.Module | None = None,
                tol: float = 1e-12, seed: int = 0, trace=None) -> list[dict]:
    """Per-layer norms of ``model`` (and of its difference to ``reference``, else to 0).

    Returns one dict per linear map, in forward order, with keys: ``name``, ``kind``,
    ``input_shape``, ``in_dim``, ``out_dim``, ``rho`` (Lipschitz constant of what follows),
    ``has_bias``, ``spec`` (‖A‖_σ, exact), ``spec_reshaped`` (reshaped-kernel norm), ``fro``
    (‖W‖_F, tensor), ``fro_dense`` (‖A‖_F), ``l21`` (‖Aᵀ‖_{2,1}), ``dist_fro`` (‖W − W⁰‖_F), ``dist_fro_dense``
    (‖A − M‖_F), ``l21_dist`` (‖Aᵀ − Mᵀ‖_{2,1}), ``l1`` / ``l1_dist`` (entrywise ‖A‖_{1,1},
    ‖A − M‖_{1,1}) and ``dist_spec`` (‖A − M‖_σ). With no reference
    M = 0, so the ``dist_*`` entries equal the plain norms.
    """
    trace = trace if trace is not None else trace_layers(model, input_shape)
    ref_layers = None
    if reference is not None:
        ref_layers = trace_layers(reference, input_shape).layers
        if [(type(a.module), a.input_shape) for a in ref_layers] != \
           [(type(b.module), b.input_shape) for b in trace.layers]:
            raise ValueError("reference model does not have the same layer chain as the model")
    rows = []
    for i, lay in enumerate(trace.layers):
        w = folded_weight(lay)
        w0 = folded_weight(ref_layers[i]) if ref_layers is not None else torch.zeros_like(w)
        d = w - w0
        spec = layer_operator_norm(lay, w, method="auto", tol=tol, seed=seed)
        sq = row_power_sums(lay, w)
        dsq = row_power_sums(lay, d) if ref_layers is not None else sq
        ab = row_power_sums(lay, w, 1.0)
        dab = row_power_sums(lay, d, 1.0) if ref_layers is not None else ab
        w2 = w.reshape(w.shape[0], -1) if w.dim() > 1 else w.diag()
        rows.append(dict(
            name=lay.name, kind=type(lay.module).__name__, input_shape=lay.input_shape,
            in_dim=lay.in_dim, out_dim=lay.out_dim, rho=lay.rho, has_bias=lay.has_bias,
            spec=spec,
            spec_reshaped=float(torch.linalg.matrix_norm(w2, ord=2)),
            fro=float(w.norm()), fro_dense=float(sq.sum().sqrt()),
            l21=float(sq.clamp_min(0).sqrt().sum()),
            dist_fro=float(d.norm()), dist_fro_dense=float(dsq.sum().sqrt()),
            l21_dist=float(dsq.clamp_min(0).sqrt().sum()),
            l1=float(ab.sum()), l1_dist=float(dab.sum()),
            dist_spec=(layer_operator_norm(lay, d, method="auto", tol=tol, seed=seed)
                       if ref_layers is not None else spec),
        ))
    return rows
