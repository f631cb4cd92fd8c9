"""Comparing kernels: how far a kernel moved, and how well it fits the labels.

* Kernel distance (Fort, Dziugaite, Paul, Kharaghani, Roy & Ganguli, "Deep learning versus
  kernel learning: an empirical study of loss landscape geometry and the time evolution of the
  neural tangent kernel", NeurIPS 2020):

      S(K0, K1) = 1 − ⟨K0, K1⟩_F / (‖K0‖_F ‖K1‖_F)   ∈ [0, 2],

  0 when K1 is a positive multiple of K0 (the kernel's shape did not change), insensitive to
  its scale. For a small change K1 = K0 + E with E ⊥ K0, S ≈ ‖E‖²/(2‖K0‖²): the distance falls
  like the square of the relative change.
* Kernel-target alignment (Cristianini, Shawe-Taylor, Elisseeff & Kandola, "On kernel-target
  alignment", NeurIPS 2002, Definition 1), with the target kernel K_y = Y Yᵀ:

      A(K, y) = ⟨K, Y Yᵀ⟩_F / (‖K‖_F ‖Y Yᵀ‖_F) = tr(Yᵀ K Y) / (‖K‖_F ‖YᵀY‖_F),

  Y = y (n, 1) for real or ±1 labels, the one-hot (n, C) matrix for integer class labels.
  ``centered=True`` centers both kernels first (K ↦ HKH, H = I − 11ᵀ/n; Cortes, Mohri &
  Rostamizadeh, "Algorithms for learning kernels based on centered alignment", JMLR 2012),
  which removes the constant component every ReLU kernel shares.

:func:`kernel_probe` wraps both as an in-training probe for ``train.fit(..., probes=...)``.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._core.result import Result
from .empirical import ntk

__all__ = ["kernel_distance", "kernel_alignment", "kernel_probe"]


def _kernel(K, name: str) -> torch.Tensor:
    K = K.value if isinstance(K, Result) else K
    K = torch.as_tensor(K)
    if K.dim() not in (2, 4):
        raise ValueError(f"{name} must be a kernel matrix (n1, n2) or (n1, n2, C, C), got shape {tuple(K.shape)}")
    return K.double()


def kernel_distance(K0, K1) -> Result:
    """S = 1 − ⟨K0, K1⟩_F / (‖K0‖_F ‖K1‖_F) (Fort et al. 2020); K0, K1 tensors or ntk Results of one shape.

    value = S (exact); extra: the relative change ‖K1 − K0‖_F / ‖K0‖_F and the scale ratio ‖K1‖/‖K0‖.
    """
    A, B = _kernel(K0, "K0"), _kernel(K1, "K1")
    if A.shape != B.shape:
        raise ValueError(f"K0 and K1 have different shapes {tuple(A.shape)} and {tuple(B.shape)}")
    na, nb = A.norm(), B.norm()
    if na == 0 or nb == 0:
        raise ValueError("a zero kernel has no direction: the kernel distance is undefined")
    s = 1.0 - float((A * B).sum() / (na * nb))
    return Result("kernel_distance", max(s, 0.0), None, {"shape": list(A.shape)},
                  {"relative_change": float((B - A).norm() / na), "scale_ratio": float(nb / na)})


def _targets(y, n: int) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} labels for a kernel on {n} points")
    if y.dim() == 1 and not y.is_floating_point():
        return torch.nn.functional.one_hot(y.long()).double()
    return y.double().reshape(n, -1)


def kernel_alignment(K, y, *, centered: bool = False) -> Result:
    """A(K, y) = ⟨K, YYᵀ⟩_F / (‖K‖_F ‖YYᵀ‖_F) (Cristianini et al. 2002); centered: Cortes et al. 2012.

    K: (n, n) kernel (an ntk Result with output="trace" works); y: (n,) integer classes (one-hot),
    (n,) real or ±1 labels, or (n, k) targets. value = A ∈ [−1, 1] (exact).
    """
    K = _kernel(K, "K")
    if K.dim() != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"alignment needs a square (n, n) kernel (use ntk(..., output='trace')), got {tuple(K.shape)}")
    n = K.shape[0]
    Y = _targets(y, n)
    if centered:
        K = K - K.mean(0, keepdim=True) - K.mean(1, keepdim=True) + K.mean()
        Y = Y - Y.mean(0, keepdim=True)  # H Y Yᵀ H = (HY)(HY)ᵀ
    kn, yn = K.norm(), (Y.T @ Y).norm()
    if kn == 0 or yn == 0:
        raise ValueError("the kernel or the target kernel is zero: the alignment is undefined")
    a = float(torch.trace(Y.T @ K @ Y) / (kn * yn))
    return Result("kernel_alignment", a, None, {"n": n, "centered": centered, "targets": Y.shape[1]})


def kernel_probe(x: torch.Tensor, *, reference=None, y=None, centered: bool = True,
                 memory_budget: int | None = None) -> Callable:
    """An in-training probe ``f(model, dataset) -> dict`` for ``train.fit(..., probes={name: f})``.

    At each evaluation point it computes the trace NTK on the fixed inputs ``x`` and returns
    {"distance": S(reference, K)} if a ``reference`` kernel is given (e.g. the NTK at
    initialization on the same x) and {"alignment": A(K, y)} if labels ``y`` are given.
    """
    if reference is None and y is None:
        raise ValueError("give a reference kernel, labels y, or both")
    ref = None if reference is None else _kernel(reference, "reference")
    kw = {} if memory_budget is None else {"memory_budget": memory_budget}

    def probe(model, dataset=None) -> dict:
        K = ntk(model, x.to(next(model.parameters()).device), **kw).value
        out = {}
        if ref is not None:
            out["distance"] = kernel_distance(ref, K).value
        if y is not None:
            out["alignment"] = kernel_alignment(K, y, centered=centered).value
        return out

    return probe
