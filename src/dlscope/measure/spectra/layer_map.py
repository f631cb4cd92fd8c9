"""All singular values of the linear map a layer computes, exactly where that is affordable.

* ``Linear``: the singular values of W (out × in); the map on a batch is I ⊗ W, same values.
* Convolution with **circular** padding whose output keeps every s-th position (N_d divisible
  by the stride s_d, output size N_d / s_d): exact by the FFT. The map is block-circulant, so the
  unitary DFT block-diagonalizes it (Sedghi, Gupta & Long 2019, "The singular values of
  convolutional layers", Thm 6): its singular values are those of the c_out × c_in matrices
  K̂(ω), K̂ the DFT of the kernel embedded in an N_1 × … × N_D grid. With a stride, keeping every
  s-th output aliases the s^D input frequencies ω' + j·(N/s) onto one output frequency ω', so the
  blocks become c_out × (c_in s^D):  B(ω') = s^{−D/2} [K̂(ω' + j·N/s)]_j  (derivation: the DFT of
  a subsampled signal, ŷ(ω') = s^{−1/2} Σ_j ẑ(ω' + j·N/s) in unitary normalization). A shift of
  the padding offset multiplies by a permutation and changes no singular value.
* Any other convolution (zero/reflect/replicate padding, or output sizes the FFT does not
  cover): the dense matrix of the map, built from basis vectors, when max(in, out) ≤
  ``dense_max_dim``; otherwise the circular map of the same kernel on the same input size,
  **labelled** ``approximation: circular padding`` (the zero-padded map differs from it only in
  the rows touching the border, a fraction ~ k/N of them).

``method`` in the returned tuple says which was used, never silently. The "block shape" is the
shape of the matrix whose random counterpart a Marchenko–Pastur comparison should use: W itself
for a Linear layer, a per-frequency block for a convolution (for a random Gaussian kernel each
block is a Gaussian matrix of that shape).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import nn

from ..norms.chain import Layer, apply_linear

__all__ = ["layer_singular_values", "conv_fft_singular_values", "stable_rank"]

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def conv_fft_singular_values(weight: torch.Tensor, sizes, stride, dilation, groups: int = 1) -> torch.Tensor:
    """Singular values of the circular convolution of ``weight`` on inputs of spatial size
    ``sizes`` keeping every ``stride``-th output (module docstring). Float64, descending per block."""
    sizes, stride, dilation = tuple(sizes), tuple(stride), tuple(dilation)
    D = len(sizes)
    if any(n % s for n, s in zip(sizes, stride)):
        raise ValueError(f"stride {stride} does not divide the input size {sizes}")
    w = weight.detach().to("cpu", torch.float64)
    c_out, cin_g = w.shape[:2]
    c_in, cout_g = cin_g * groups, c_out // groups
    full = torch.zeros(c_out, c_in, *sizes, dtype=torch.float64)
    for tap in itertools.product(*(range(k) for k in w.shape[2:])):
        # tap t reads input position x + t·dilation (mod N); taps wrapping onto one position add
        pos = tuple((t * d) % n for t, d, n in zip(tap, dilation, sizes))
        for g in range(groups):
            o, i = slice(g * cout_g, (g + 1) * cout_g), slice(g * cin_g, (g + 1) * cin_g)
            full[(o, i, *pos)] += w[(o, slice(None), *tap)]
    khat = torch.fft.fftn(full, dim=tuple(range(2, 2 + D)))
    # split every frequency axis N_d into (s_d, N_d/s_d): index k = j·(N_d/s_d) + k'
    split = [c_out, c_in] + [v for n, s in zip(sizes, stride) for v in (s, n // s)]
    khat = khat.reshape(split)
    j_axes = [2 + 2 * d for d in range(D)]
    k_axes = [3 + 2 * d for d in range(D)]
    blocks = khat.permute(*k_axes, 0, 1, *j_axes).reshape(-1, c_out, c_in * math.prod(stride))
    return torch.linalg.svdvals(blocks).real / math.sqrt(math.prod(stride))


def _circular_exact(m: nn.Module, layer: Layer) -> bool:
    sizes, out = layer.input_shape[1:], layer.output_shape[1:]
    return (m.padding_mode == "circular"
            and all(n % s == 0 and o == n // s for n, s, o in zip(sizes, m.stride, out)))


def _dense(layer: Layer, weight: torch.Tensor) -> torch.Tensor:
    n = layer.in_dim
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *layer.input_shape)
    with torch.no_grad():
        cols = apply_linear(layer, basis, weight.to(torch.float64)).reshape(n, -1)
    return torch.linalg.svdvals(cols.T)


def layer_singular_values(layer: Layer, weight: torch.Tensor, *, dense_max_dim: int = 2048):
    """(singular values as a float64 numpy array, method, block shape) of ``layer``'s linear map
    with the given weight (module docstring). Raises ValueError for maps it cannot treat."""
    m = layer.module
    w = weight.detach().to("cpu", torch.float64)
    if isinstance(m, nn.Linear):
        return torch.linalg.svdvals(w).numpy(), "exact: matrix", tuple(w.shape)
    if not isinstance(m, CONV_TYPES):
        raise ValueError(f"{type(m).__name__} is not a Linear or Conv layer")
    block = (w.shape[0], w.shape[1] * m.groups * math.prod(m.stride))
    sizes = layer.input_shape[1:]
    if _circular_exact(m, layer):
        sv = conv_fft_singular_values(w, sizes, m.stride, m.dilation, m.groups)
        return sv.reshape(-1).numpy(), "exact: FFT of the circular map (Sedghi et al. 2019)", block
    if max(layer.in_dim, layer.out_dim) <= dense_max_dim:
        return _dense(layer, w).numpy(), "exact: dense matrix of the map", block
    if any(n % s for n, s in zip(sizes, m.stride)):
        raise ValueError(f"{layer.name}: the dense map ({layer.out_dim} × {layer.in_dim}) exceeds dense_max_dim="
                         f"{dense_max_dim} and the stride does not divide the input size (no FFT approximation)")
    sv = conv_fft_singular_values(w, sizes, m.stride, m.dilation, m.groups)
    return (sv.reshape(-1).numpy(),
            f"approximation: circular padding in place of {m.padding_mode} padding (dense map "
            f"{layer.out_dim} × {layer.in_dim} > dense_max_dim={dense_max_dim})", block)


def stable_rank(eigenvalues) -> float:
    """‖W‖²_F / ‖W‖²_2 = Σλ / λ_max for the eigenvalues λ = σ² of WᵀW."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    return float(lam.sum() / lam.max()) if lam.size and lam.max() > 0 else math.nan
