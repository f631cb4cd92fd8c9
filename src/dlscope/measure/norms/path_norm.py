"""Path norms and parameter norms (Neyshabur, Tomioka & Srebro 2015; Jiang et al. 2020, App. C).

* ℓp path norm ‖w‖_{path,p} = (Σ_paths ∏_{e∈path} |w_e|^p)^{1/p} over all input→output paths,
  computed by one forward pass of the all-ones input through the network with every weight
  replaced by |w|^p and biases set to zero;
* ‖w‖₂ and ‖w − w⁰‖₂ over the trainable parameters, and the parameter count.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .._core.result import Result
from .chain import BN_TYPES, LINEAR_TYPES, bn_scale

__all__ = ["path_norm", "param_count", "param_norm", "param_distance"]


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

