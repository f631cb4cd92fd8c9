"""The weight-bearing layers of any ``nn.Module``, in the order its forward pass calls them.

Norm-based measures (Bartlett et al. 2017; Neyshabur et al. 2017, 2018) treat a network as a
chain x -> σ_L(A_L σ_{L-1}(... σ_1(A_1 x))). For a generic module the chain is not the order in
which submodules were registered, so :func:`trace_layers` runs one forward pass on a zero input
with hooks on every leaf module and records the calls:

* ``Linear`` / ``Conv1d`` / ``Conv2d`` / ``Conv3d`` calls are the linear maps A_i (without bias);
* a ``BatchNorm`` in eval mode is the affine map x -> s ⊙ (x - μ) + β with s = γ / sqrt(var + ε);
  when its input is exactly the output of the preceding linear call it is *folded* into it
  (A_i <- diag(s) A_i); otherwise it is its own diagonal linear map;
* parameter-free leaves between two linear maps multiply the Lipschitz constant ρ_i of the
  nonlinearity that follows A_i (ReLU 1, sigmoid 1/4, max-pool sqrt(#windows a pixel is in),
  average pools their exact operator norm); leaves of unknown type are assumed 1-Lipschitz and
  listed in ``Trace.assumed_lipschitz`` so a caller can record it.

BatchNorm is always read with its running statistics (its eval-mode map), whatever mode the
model is in; ``Trace.bn_training`` says whether any BatchNorm was in training mode.
Functional calls inside ``forward`` (``torch.relu``, ``x + identity``) are invisible to hooks;
they are read from the autograd graph of the pass (:mod:`.graph`): known activations enter ρ,
joins of branches (skip connections, concatenations) and ops of unknown Lipschitz constant are
recorded in ``Trace.joins`` / ``Trace.unaccounted`` so that chain-only measures can refuse.
Linear maps must be modules. A layer that reads the very tensor an earlier layer read (a
projection shortcut next to a residual branch) is marked ``parallel_to`` that layer.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from .graph import pool_lipschitz, record_calls
from .linear_map import linear_map_norm

LINEAR_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_ONE_LIPSCHITZ = (nn.ReLU, nn.Tanh, nn.Flatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                  nn.Softplus, nn.ReLU6, nn.Hardtanh, nn.Unflatten)
# max_x |d/dx| of the activation: GELU: Φ(√2) + √2 φ(√2); SiLU: the max of σ(x)(1 + x(1 - σ(x))).
_KNOWN_LIPSCHITZ = {nn.Sigmoid: 0.25, nn.GELU: 1.1289, nn.SiLU: 1.0998}


@dataclasses.dataclass
class Layer:
    """One linear map A_i of the chain (one *call*: a module called twice appears twice)."""

    name: str
    module: nn.Module
    bn: nn.Module | None
    input_shape: tuple
    output_shape: tuple
    rho: float = 1.0
    parallel_to: str | None = None  # an earlier layer fed the very same input tensor (a branch, e.g. a shortcut)

    @property
    def in_dim(self) -> int:
        return math.prod(self.input_shape)

    @property
    def out_dim(self) -> int:
        return math.prod(self.output_shape)

    @property
    def has_bias(self) -> bool:
        if isinstance(self.module, BN_TYPES):
            return self.module.affine or self.module.track_running_stats
        return getattr(self.module, "bias", None) is not None or self.bn is not None


@dataclasses.dataclass
class Trace:
    layers: list
    assumed_lipschitz: list
    bn_training: bool
    joins: list = dataclasses.field(default_factory=list)         # branches meeting outside modules
    unaccounted: list = dataclasses.field(default_factory=list)   # functional ops of unknown ρ
    nonzero_at_zero: list = dataclasses.field(default_factory=list)  # maps with σ(0) ≠ 0


def bn_scale(bn: nn.Module, dtype=torch.float64) -> torch.Tensor:
    """s = γ / sqrt(running_var + ε): the linear part of an eval-mode BatchNorm (on the CPU)."""
    var = bn.running_var.detach().to("cpu", dtype) if bn.running_var is not None else None
    if var is None:
        raise ValueError("BatchNorm without running statistics has no fixed linear map to fold")
    s = 1.0 / torch.sqrt(var + bn.eps)
    if bn.weight is not None:
        s = s * bn.weight.detach().to("cpu", dtype)
    return s


def folded_weight(layer: Layer, dtype=torch.float64) -> torch.Tensor:
    """The weight of A_i with a following BatchNorm folded in; for a lone BatchNorm, s.

    Always a CPU float64 copy: norms are computed there whatever device the model is on.
    """
    m = layer.module
    if isinstance(m, BN_TYPES):
        return bn_scale(m, dtype)
    w = m.weight.detach().to("cpu", dtype)
    if layer.bn is not None:
        s = bn_scale(layer.bn, dtype)
        w = w * s.view(-1, *([1] * (w.dim() - 1)))
    return w


def apply_linear(layer: Layer, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x -> A x for the layer's map with the given (folded) weight and no bias."""
    m = layer.module
    if isinstance(m, nn.Linear):
        return F.linear(x, weight)
    if isinstance(m, BN_TYPES):
        return x * weight.view(1, -1, *([1] * (x.dim() - 2)))
    # _conv_forward applies the module's padding_mode (circular/reflect/replicate) exactly as forward does.
    return m._conv_forward(x, weight, None)


def _pool_lipschitz(m: nn.Module) -> float:
    """ℓ2-Lipschitz constant of a max-pool module (:func:`.graph.pool_lipschitz`)."""
    dims = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}
    d = len(m.kernel_size) if isinstance(m.kernel_size, tuple) else next(v for t, v in dims.items() if isinstance(m, t))
    as_t = lambda v: v if isinstance(v, tuple) else (v,) * d  # noqa: E731
    return pool_lipschitz(as_t(m.kernel_size), as_t(m.stride if m.stride is not None else m.kernel_size),
                          as_t(m.dilation))


def _lipschitz(m: nn.Module, x_in: torch.Tensor) -> float | None:
    """ρ of a parameter-free leaf, or None if its type is unknown (then assumed 1)."""
    if isinstance(m, _ONE_LIPSCHITZ):
        return 1.0
    for t, v in _KNOWN_LIPSCHITZ.items():
        if isinstance(m, t):
            return v
    if isinstance(m, (nn.LeakyReLU,)):
        return max(1.0, abs(m.negative_slope))
    if isinstance(m, (nn.ELU, nn.CELU)):
        return max(1.0, m.alpha)
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        return _pool_lipschitz(m)
    if isinstance(m, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                      nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        # average pools are linear: their exact operator norm
        return linear_map_norm(lambda z: m(z), tuple(x_in.shape[1:]))
    return None


def trace_layers(model: nn.Module, input_shape, *, fold_bn: bool = True) -> Trace:
    """Run one forward pass on zeros(1, *input_shape) and return the chain of linear maps.

    The pass runs in eval mode inside :func:`preserved`, so BatchNorm statistics and modes are
    untouched. Raises ``ValueError`` for a leaf with parameters that is none of the supported
    types. The structure the hooks cannot see (:mod:`.graph`) is recorded, not refused:
    ``joins`` (branches that meet outside a module), ``unaccounted`` (functional ops of unknown
    Lipschitz constant) and ``nonzero_at_zero`` (maps with σ(0) ≠ 0); known functional
    activations (``torch.relu``, ``F.max_pool2d``, …) enter ρ like their modules do.
    """
    input_shape = tuple(input_shape)
    names = {m: n for n, m in model.named_modules()}
    bn_training = any(m.training for m in model.modules() if isinstance(m, BN_TYPES))
    calls, joins, leading = record_calls(model, input_shape)
    layers, assumed, unaccounted, nonzero = [], [], [], []
    for op in leading:
        if not op.shape_only:
            unaccounted.append(f"{op.name} on the input")
    last_out = None  # output tensor of the last linear call, for BN folding
    fed = {}  # id of an input tensor -> first layer that read it (calls keep the tensors alive)
    for call in calls:
        m, x_in, out = call.module, call.x_in, call.out
        if isinstance(m, LINEAR_TYPES):
            layers.append(Layer(names[m], m, None, tuple(x_in.shape[1:]), tuple(out.shape[1:]),
                                parallel_to=fed.get(id(x_in))))
            fed.setdefault(id(x_in), names[m])
            last_out = out
        elif isinstance(m, BN_TYPES):
            if fold_bn and layers and last_out is not None and x_in is last_out and layers[-1].bn is None:
                layers[-1].bn = m
                layers[-1].name += "+" + names[m]
            else:
                layers.append(Layer(names[m], m, None, tuple(x_in.shape[1:]), tuple(out.shape[1:])))
            last_out = None
        elif any(True for _ in m.parameters(recurse=False)):
            raise ValueError(f"unsupported layer with parameters: {names[m]} ({type(m).__name__})")
        else:
            last_out = None
            rho = _lipschitz(m, x_in)
            if rho is None:
                assumed.append(names[m])
                rho = 1.0
            if layers:
                layers[-1].rho *= rho
            with torch.no_grad():
                if x_in is not None and bool(m(torch.zeros_like(x_in)).ne(0).any()):
                    nonzero.append(names[m])
        for op in call.ops_after:
            if op.shape_only:
                continue
            where = f"{op.name} after '{names[m]}'"
            if op.rho is None or not layers:
                unaccounted.append(where)
                continue
            layers[-1].rho *= op.rho
            if not op.zero_at_zero:
                nonzero.append(where)
    if not layers:
        raise ValueError("the forward pass called no Linear/Conv/BatchNorm module")
    return Trace(layers, assumed, bn_training, joins, unaccounted, nonzero)
