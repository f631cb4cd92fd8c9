"""Exact operator (spectral) norms of the linear maps layers compute.

‖A‖_σ = max_{x≠0} ‖A x‖₂ / ‖x‖₂ for the map x ↦ layer(x) − bias on inputs of a given shape.
For a convolution this depends on the input size, stride, padding, dilation and groups; the
norm of the kernel reshaped to (c_out, c_in·k) — what ``torch.nn.utils.spectral_norm`` divides
by — is a different number (it can be larger or smaller; Sedghi, Gupta & Long 2019, "The
singular values of convolutional layers"). It is offered only as :func:`reshaped_kernel_norm`.

Routes (all in float64):

* ``dense``: the matrix A built by applying the map to basis vectors, then its top singular
  value (small inputs only);
* ``lanczos``: the top eigenvalue of AᵀA by ARPACK's Lanczos (``scipy.sparse.linalg.eigsh``)
  with Aᵀ applied by autograd (exactly the adjoint: a transposed convolution with the right
  output padding). Lanczos instead of plain power iteration because power iteration converges
  at rate (σ₂/σ₁)², and conv spectra have near-degenerate tops; Lanczos reaches 1e-10 in tens of
  products where power iteration may stall while its iterates stop changing;
* ``pointwise`` (chosen by ``auto``): a 1×1 convolution whose output pixels read distinct input
  pixels is I ⊗ W on those pixels, so its norm is that of W (per group);
* ``fft``: for a circularly padded, stride-1, size-preserving convolution the map is
  block-circulant and ‖A‖_σ = max over frequencies ω of ‖K̂(ω)‖₂, K̂(ω) the c_out × c_in DFT of
  the kernel (Sedghi et al. 2019, Thm 6). Exact only in that case, so used only there.
"""
from __future__ import annotations

import copy
import itertools
import math

import torch
from torch import nn

from .chain import BN_TYPES, Layer, apply_linear, bn_scale, folded_weight
from .linear_map import linear_map_norm

__all__ = ["operator_norm", "reshaped_kernel_norm", "fold_batchnorm", "layer_operator_norm"]


def _fft_exact(m: nn.Module, input_shape, output_shape) -> bool:
    if not isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return False
    return (m.padding_mode == "circular" and all(s == 1 for s in m.stride)
            and tuple(input_shape[1:]) == tuple(output_shape[1:]))


def _conv_fft_norm(m: nn.Module, weight: torch.Tensor, input_shape) -> float:
    """max_ω ‖K̂(ω)‖₂ for a circular stride-1 convolution (Sedghi et al. 2019)."""
    sizes = tuple(input_shape[1:])
    c_out, cin_g = weight.shape[:2]
    g = m.groups
    c_in, cout_g = cin_g * g, c_out // g
    full = torch.zeros(c_out, c_in, *sizes, dtype=weight.dtype)
    for tap in itertools.product(*(range(k) for k in weight.shape[2:])):
        # tap t of a dilated kernel reads input position x + t·dilation (mod N): taps that wrap
        # onto the same position add, which the scatter-add reproduces.
        pos = tuple((t * d) % n for t, d, n in zip(tap, m.dilation, sizes))
        for gi in range(g):
            o, i = slice(gi * cout_g, (gi + 1) * cout_g), slice(gi * cin_g, (gi + 1) * cin_g)
            full[(o, i, *pos)] += weight[(o, slice(None), *tap)]
    khat = torch.fft.fftn(full, dim=tuple(range(2, 2 + len(sizes))))
    mats = khat.permute(*range(2, 2 + len(sizes)), 0, 1).reshape(-1, c_out, c_in)
    return float(torch.linalg.matrix_norm(mats, ord=2).max())


def _pointwise_exact(m: nn.Module, input_shape, output_shape) -> bool:
    """A 1×1 convolution whose output pixels read distinct input pixels (any stride; zero padding
    only adds zero rows) is I ⊗ W on the pixels it reads, so ‖A‖_σ = max_groups ‖W_g‖₂."""
    if not isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) or any(k != 1 for k in m.kernel_size):
        return False
    pad = (0,) * len(m.kernel_size) if isinstance(m.padding, str) else m.padding  # 'same'/'valid' are 0 for k = 1
    if m.padding_mode != "zeros" and any(pad):
        return False  # a wrapped/reflected border pixel is read twice
    return all(any(0 <= t * s - p < n for t in range(o))
               for s, p, n, o in zip(m.stride, pad, input_shape[1:], output_shape[1:]))


def layer_operator_norm(layer: Layer, weight: torch.Tensor, *, method: str, tol: float, seed: int) -> float:
    m = layer.module
    if isinstance(m, BN_TYPES):
        return float(weight.abs().max())
    if isinstance(m, nn.Linear):  # acts as I ⊗ W on (…, in): the norm does not depend on the leading dims
        return float(torch.linalg.matrix_norm(weight, ord=2))
    if method == "auto" and _pointwise_exact(m, layer.input_shape, layer.output_shape):
        g = m.groups
        blocks = weight.reshape(g, weight.shape[0] // g, weight.shape[1])
        return float(torch.linalg.matrix_norm(blocks, ord=2).max())
    fft_ok = _fft_exact(m, layer.input_shape, layer.output_shape)
    if method == "fft" and not fft_ok:
        raise ValueError("the FFT route is exact only for circular padding, stride 1, same size")
    if method == "fft" or (method == "auto" and fft_ok):
        return _conv_fft_norm(m, weight, layer.input_shape)
    dense_below = math.prod(layer.input_shape) + 1 if method == "dense" else (0 if method == "lanczos" else 256)
    return linear_map_norm(lambda x: apply_linear(layer, x, weight), layer.input_shape,
                           tol=tol, seed=seed, dense_below=dense_below)


def _as_layer(module: nn.Module, input_shape, bn) -> Layer:
    input_shape = tuple(input_shape)
    with torch.no_grad():
        p = module.weight
        out = module(torch.zeros(1, *input_shape, dtype=p.dtype, device=p.device))
    return Layer(type(module).__name__, module, bn, input_shape, tuple(out.shape[1:]))


def operator_norm(layer: nn.Module, input_shape, *, bn: nn.Module | None = None,
                  method: str = "auto", tol: float = 1e-12, seed: int = 0) -> float:
    """Exact spectral norm ‖A‖_σ of the bias-free linear map of ``layer`` on ``input_shape``.

    ``input_shape`` excludes the batch dimension, e.g. (3, 32, 32) for a Conv2d. ``bn``: an
    eval-mode BatchNorm that follows the layer, folded in as A ← diag(γ/√(var+ε)) A (running
    statistics are used whatever the BatchNorm's mode). ``method``: ``"auto"`` (1×1 or FFT
    closed forms where exact, dense SVD for inputs of ≤ 256 entries, else Lanczos), ``"fft"``, ``"dense"``, ``"lanczos"``.
    A lone BatchNorm layer is the diagonal map x ↦ s ⊙ x with norm max|s|.
    """
    if method not in ("auto", "fft", "dense", "lanczos"):
        raise ValueError(f"unknown method {method!r}")
    lay = _as_layer(layer, input_shape, bn)
    return layer_operator_norm(lay, folded_weight(lay), method=method, tol=tol, seed=seed)


def reshaped_kernel_norm(layer: nn.Module, *, bn: nn.Module | None = None) -> float:
    """‖W.reshape(c_out, -1)‖₂: the *reshaped-kernel* norm of ``torch.nn.utils.spectral_norm``.

    Not the operator norm of a convolution (see the module docstring); for a Linear layer they agree.
    """
    lay = Layer(type(layer).__name__, layer, bn, (), ())
    w = folded_weight(lay)
    return float(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2))


def fold_batchnorm(layer: nn.Module, bn: nn.Module) -> nn.Module:
    """A copy of ``layer`` computing BN_eval(layer(x)): W' = diag(s) W, b' = s ⊙ (b − μ) + β.

    s = γ / √(running_var + ε). The inputs are not modified.
    """
    out = copy.deepcopy(layer)
    with torch.no_grad():
        s = bn_scale(bn, layer.weight.dtype).to(layer.weight.device)
        out.weight.mul_(s.view(-1, *([1] * (layer.weight.dim() - 1))))
        b = layer.bias.detach() if layer.bias is not None else torch.zeros_like(s)
        beta = bn.bias.detach() if bn.bias is not None else torch.zeros_like(s)
        new_b = s * (b - bn.running_mean.detach()) + beta
        if out.bias is None:
            out.bias = nn.Parameter(new_b.to(layer.weight.dtype))
        else:
            out.bias.copy_(new_b)
    return out
