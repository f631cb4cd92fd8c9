"""Path norms and parameter norms (Neyshabur, Tomioka & Srebro 2015; Jiang et al. 2020, App. C).

* ℓp path norm ‖w‖_{path,p} = (Σ_paths ∏_{e∈path} |w_e|^p)^{1/p} over all paths that end at an
  output: computed by one forward pass of the all-ones input through the network with every
  parameter replaced by |·|^p. With ``biases="included"`` (the default, Jiang et al.'s
  convention) a bias is the weight of an edge from a constant unit, so paths may start at a bias;
  ``"excluded"`` zeroes biases (input→output paths only, Neyshabur et al. 2015's bias-free nets);
* ‖w‖₂ and ‖w − w⁰‖₂ over the trainable parameters (all of them, or the layer weights only), and
  the parameter count.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .._core.result import Result
from .chain import BN_TYPES, LINEAR_TYPES, bn_scale, trace_layers
from .operator import fold_batchnorm

__all__ = ["path_norm", "param_count", "param_norm", "param_distance"]

BIASES = ("included", "excluded")


def _fold_all(net: nn.Module, input_shape) -> None:
    """Fold every eval-mode BatchNorm that directly follows a Linear/Conv into it, in place, and
    make the BatchNorm the identity (γ = 1, β = 0, μ = 0, var = 1 − ε)."""
    for lay in trace_layers(net, input_shape).layers:
        if lay.bn is None:
            continue
        folded = fold_batchnorm(lay.module, lay.bn)
        with torch.no_grad():
            lay.module.weight.copy_(folded.weight)
            if lay.module.bias is None:  # a bias-free conv before BatchNorm gains the BN shift as its bias
                lay.module.bias = nn.Parameter(folded.bias.detach().clone())
            else:
                lay.module.bias.copy_(folded.bias)
            bn = lay.bn
            if bn.weight is not None:
                bn.weight.fill_(1.0)
                bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)


def path_norm(model: nn.Module, input_shape, *, p: float = 2.0, biases: str = "included") -> Result:
    """ℓp path norm (Σ_paths ∏_{e∈path} |w_e|^p)^{1/p} (Neyshabur, Tomioka & Srebro 2015).

    Computed as (Σ_outputs f_{|w|^p}(1))^{1/p} on a float64 copy of the network in eval mode.
    ``biases="included"`` (default) matches Jiang et al. 2020, App. C ("w² = w ∘ w is the
    element-wise square operation on all the parameters") and the code of Dziugaite et al. 2020
    (nitarshan/robust-generalization-measures, data/generation/measures.py, ``_path_norm``:
    every parameter squared after ``_reparam`` folds BatchNorm into the preceding convolution):
    BatchNorm that follows a Linear/Conv is folded into it first (W ← diag(s)W, b ← s(b − μ) + β),
    then every weight and bias becomes |·|^p. ``biases="excluded"`` zeroes every bias and shift
    (input→output paths only). A BatchNorm on its own acts as diag(|s|^p) (plus |β − sμ|^p when
    biases are included). All pre-activations are then ≥ 0, so ReLUs pass everything and the
    output sums the path products exactly; identity skip connections count as weight-1 edges.
    Pooling layers act as they do in the net (a max-pool keeps the largest path sum, an average
    pool weights paths by 1/k, not (1/k)^p), as in Jiang et al.'s computation.
    """
    if biases not in BIASES:
        raise ValueError(f"biases must be one of {BIASES}, not {biases!r}")
    input_shape = tuple(input_shape)
    net = copy.deepcopy(model).to("cpu", torch.float64).eval()
    with torch.no_grad():
        _fold_all(net, input_shape)
        for m in net.modules():
            if isinstance(m, LINEAR_TYPES):
                m.weight.copy_(m.weight.abs().pow(p))
                if m.bias is not None:
                    m.bias.copy_(m.bias.abs().pow(p) if biases == "included" else torch.zeros_like(m.bias))
            elif isinstance(m, BN_TYPES):
                if m.weight is None:
                    raise ValueError("path_norm needs affine BatchNorm")
                s = bn_scale(m)
                shift = m.bias - s * m.running_mean
                m.weight.copy_(s.abs().pow(p))
                m.bias.copy_(shift.abs().pow(p) if biases == "included" else torch.zeros_like(shift))
                m.running_mean.zero_()
                m.running_var.fill_(1.0 - m.eps)
            elif any(True for _ in m.parameters(recurse=False)):
                raise ValueError(f"path_norm: unsupported layer with parameters {type(m).__name__}")
        total = float(net(torch.ones(1, *input_shape, dtype=torch.float64)).sum())
    return Result(f"path_norm_l{p:g}", total ** (1.0 / p),
                  settings={"p": p, "input_shape": input_shape, "biases": biases,
                            "batchnorm": "running statistics, folded into the preceding layer"},
                  extra={"sum_of_path_products": total})


def param_count(model: nn.Module) -> int:
    """Number of trainable parameters p."""
    return sum(q.numel() for q in model.parameters() if q.requires_grad)


def param_norm(model: nn.Module) -> float:
    """‖w‖₂ over all trainable parameters (weights, biases, BatchNorm affine).

    Jiang et al.'s ``param_norm`` measure is the weights-only Σ_i ‖W_i‖²_F (see the registry).
    """
    return float(torch.sqrt(sum(q.detach().double().pow(2).sum() for q in model.parameters() if q.requires_grad)))


def param_distance(model: nn.Module, reference: nn.Module) -> float:
    """‖w − w⁰‖₂ over all trainable parameters, matched by name (distance from initialization)."""
    ref = dict(reference.named_parameters())
    total = torch.zeros((), dtype=torch.float64)
    for n, q in model.named_parameters():
        if q.requires_grad:
            total = total + (q.detach().double() - ref[n].detach().double()).pow(2).sum()
    return float(total.sqrt())
