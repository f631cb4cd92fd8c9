"""Norms of a network's layers and parameters: the raw material of norm-based capacity measures.

Neyshabur, Bhojanapalli, McAllester & Srebro 2017 ("Exploring generalization in deep learning")
and Jiang, Neyshabur, Mobahi, Krishnan & Bengio 2020 ("Fantastic generalization measures and
where to find them", App. C) build measures from, per layer i with weight W_i (reference /
initial weight W⁰_i):

* ‖W_i‖_F, ‖W_i − W⁰_i‖_F — Frobenius norms of the weight *tensors* (parameter norms);
* ‖A_i‖_σ — the exact operator norm of the map the layer computes (:mod:`.opnorm`);
* ‖A_iᵀ − M_iᵀ‖_{2,1} = Σ_rows ‖(A_i − M_i)_{r,:}‖₂ and ‖A_i − M_i‖_F of the *dense* matrix A_i of
  the layer on its input shape (for a convolution every output pixel is a row; rows at the border
  lose the taps that fall in the zero padding), as Bartlett et al. 2017 define them;
* path norms (Neyshabur, Tomioka & Srebro 2015): ‖w‖_{path,p} = (Σ_paths ∏_{e∈path} |w_e|^p)^{1/p}
  over all input→output paths, computed by one forward pass of the all-ones input through the
  network with every weight replaced by |w|^p and biases set to zero.

Layers are found by :func:`._layers.trace_layers` (forward order, eval-mode BatchNorm folded
into the preceding linear map).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ._layers import BN_TYPES, LINEAR_TYPES, Layer, apply_linear, bn_scale, folded_weight, trace_layers
from .opnorm import _layer_norm
from .result import Result

__all__ = ["layer_norms", "path_norm", "param_count", "param_norm", "param_distance"]


def _row_sq_norms(layer: Layer, weight: torch.Tensor) -> torch.Tensor:
    """‖A_{r,:}‖² for every row r (output unit) of the dense matrix of the map."""
    m = layer.module
    if not isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) or m.padding_mode == "zeros":
        # Every entry of A is one weight or 0 (zero padding drops taps), so applying the map
        # with weights w² to all ones sums exactly the squared entries of each row.
        ones = torch.ones(1, *layer.input_shape, dtype=weight.dtype)
        with torch.no_grad():
            return apply_linear(layer, ones, weight * weight).reshape(-1)
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
        rows.append(g.reshape(len(idx), -1).pow(2).sum(1))
    return torch.cat(rows)


def layer_norms(model: nn.Module, input_shape, *, reference: nn.Module | None = None,
                tol: float = 1e-12, seed: int = 0, trace=None) -> list[dict]:
    """Per-layer norms of ``model`` (and of its difference to ``reference``, else to 0).

    Returns one dict per linear map, in forward order, with keys: ``name``, ``kind``,
    ``input_shape``, ``in_dim``, ``out_dim``, ``rho`` (Lipschitz constant of what follows),
    ``has_bias``, ``spec`` (‖A‖_σ, exact), ``spec_reshaped`` (reshaped-kernel norm), ``fro``
    (‖W‖_F, tensor), ``fro_dense`` (‖A‖_F), ``l21`` (‖Aᵀ‖_{2,1}), ``dist_fro`` (‖W − W⁰‖_F), ``dist_fro_dense``
    (‖A − M‖_F), ``l21_dist`` (‖Aᵀ − Mᵀ‖_{2,1}) and ``dist_spec`` (‖A − M‖_σ). With no reference
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
        spec = _layer_norm(lay, w, method="auto", tol=tol, seed=seed)
        sq = _row_sq_norms(lay, w)
        dsq = _row_sq_norms(lay, d) if ref_layers is not None else sq
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
            dist_spec=(_layer_norm(lay, d, method="auto", tol=tol, seed=seed)
                       if ref_layers is not None else spec),
        ))
    return rows


def path_norm(model: nn.Module, input_shape, *, p: float = 2.0) -> Result:
    """ℓp path norm (Σ_paths ∏_{e∈path} |w_e|^p)^{1/p} (Neyshabur, Tomioka & Srebro 2015).

    Computed as (Σ_outputs f_{|w|^p}(1))^{1/p}: a float64 copy of the network in eval mode with
    every Linear/Conv weight replaced by |w|^p, an eval-mode BatchNorm by the diagonal map
    |γ/√(var+ε)|^p, all biases zeroed, fed the all-ones input. All pre-activations are then ≥ 0,
    so ReLUs pass everything and the output sums the path products exactly; identity skip
    connections count as weight-1 edges. Exact for nets of Linear/Conv/BatchNorm/ReLU/sum;
    pooling layers act as they do in the net (a max-pool keeps the largest path sum, an average
    pool weights paths by 1/k, not (1/k)^p), as in Jiang et al. 2020's computation.
    """
    net = copy.deepcopy(model).to("cpu", torch.float64).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, LINEAR_TYPES):
                m.weight.copy_(m.weight.abs().pow(p))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, BN_TYPES):
                s = bn_scale(m).abs().pow(p)
                if m.weight is None:
                    raise ValueError("path_norm needs affine BatchNorm")
                m.weight.copy_(s)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0 - m.eps)
            elif any(True for _ in m.parameters(recurse=False)):
                raise ValueError(f"path_norm: unsupported layer with parameters {type(m).__name__}")
        total = float(net(torch.ones(1, *input_shape, dtype=torch.float64)).sum())
    return Result(f"path_norm_l{p:g}", total ** (1.0 / p),
                  settings={"p": p, "input_shape": tuple(input_shape), "biases": "excluded",
                            "batchnorm": "running statistics"},
                  extra={"sum_of_path_products": total})


def param_count(model: nn.Module) -> int:
    """Number of trainable parameters p."""
    return sum(q.numel() for q in model.parameters() if q.requires_grad)


def param_norm(model: nn.Module) -> float:
    """‖w‖₂ over all trainable parameters (weights, biases, BatchNorm affine)."""
    return float(torch.sqrt(sum(q.detach().double().pow(2).sum() for q in model.parameters() if q.requires_grad)))


def param_distance(model: nn.Module, reference: nn.Module) -> float:
    """‖w − w⁰‖₂ over all trainable parameters, matched by name (distance from initialization)."""
    ref = dict(reference.named_parameters())
    total = torch.zeros((), dtype=torch.float64)
    for n, q in model.named_parameters():
        if q.requires_grad:
            total = total + (q.detach().double() - ref[n].detach().double()).pow(2).sum()
    return float(total.sqrt())

