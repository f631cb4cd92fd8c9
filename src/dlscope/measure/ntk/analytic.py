"""The infinite-width NTK of a ReLU net in NTK parameterization, and kernel regression by gradient descent.

The network (``models.build("ntk-mlp", ...)``): L hidden ReLU layers of width m, no biases,
every weight N(0, 1), each layer divided by the square root of its fan-in, output scale α:

    h_1 = W_1 x / √d,   h_{l+1} = W_{l+1} σ(h_l) / √m,   f(x) = α a·σ(h_L) / √m.

As m → ∞ its NTK converges to Θ_∞ ⊗ I_C (Jacot, Gabriel & Hongler 2018, Theorem 1 with β = 0;
the recursion as written by Arora, Du, Hu, Li, Salakhutdinov & Wang, "On exact computation
with an infinitely wide neural net", NeurIPS 2019, for fully-connected nets, with c_σ = 1 because the weights
here carry no √2):

    Σ_0(x, x') = x·x' / d,
    Σ_h(x, x') = E[σ(u) σ(v)],  Σ̇_h(x, x') = E[σ'(u) σ'(v)],
        (u, v) ~ N(0, [[Σ_{h−1}(x, x), Σ_{h−1}(x, x')], [Σ_{h−1}(x', x), Σ_{h−1}(x', x')]]),
    Θ_0 = Σ_0,  Θ_h = Σ_h + Θ_{h−1} Σ̇_h  (h = 1 … L),   Θ_∞ = α² Θ_L.

For ReLU the expectations are the arc-cosine kernels of order 1 and 0 (Cho & Saul, "Kernel
methods for deep learning", NeurIPS 2009, degrees 1 and 0): with q, q' the variances and
θ = arccos(Σ_{h−1}(x, x') / √(q q')),

    E[σ(u)σ(v)] = √(q q') (sin θ + (π − θ) cos θ) / (2π),   E[σ'(u)σ'(v)] = (π − θ) / (2π).

The NNGP kernel of the output (Lee et al. 2018) is α² Σ_L, returned in ``extra``.

Gradient descent on the squared loss with a fixed kernel K (the linearized net of Lee et al.
2019, who solve the gradient-flow version): after T steps f_t = f_{t−1} − η K (f_{t−1} − Y) on the training set, from
f_0 = 0, the prediction at x is

    f_T(x) = K(x, X) K(X, X)⁻¹ (I − (I − η K(X, X))^T) Y,

computed from the eigendecomposition of K(X, X) (each eigenvalue λ contributes
(1 − (1 − ηλ)^T)/λ, which is ηT as λ → 0); T = ∞ gives kernel ("ridgeless") regression.
"""
from __future__ import annotations

import math

import torch

from .._core.result import Result

__all__ = ["relu_ntk", "kernel_regression"]


def _flat(x, name):
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise ValueError(f"{name} must be a tensor of inputs (n, *input_shape)")
    return x.reshape(len(x), -1).double()


def _arccos(c, q1, q2):
    """(E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for ReLU σ; q1 (n1, 1), q2 (1, n2) variances, c (n1, n2) covariances."""
    norm = torch.sqrt(q1 * q2)
    rho = torch.where(norm > 0, c / norm.clamp_min(1e-300), torch.zeros_like(c)).clamp(-1.0, 1.0)
    th = torch.arccos(rho)
    return (norm * (torch.sin(th) + (math.pi - th) * torch.cos(th)) / (2 * math.pi),
            (math.pi - th) / (2 * math.pi))


def relu_ntk(x1, x2=None, *, depth: int = 1, alpha: float = 1.0) -> Result:
    """Θ_∞(x1, x2) (n1, n2) of the NTK-parameterized ReLU net with ``depth`` hidden layers (see module doc).

    One output's kernel: the empirical NTK of a C-output net converges to Θ_∞ ⊗ I_C, so its
    trace over outputs converges to C·Θ_∞. value: float64 (n1, n2); extra["nngp"] = α² Σ_L.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth (hidden layers) must be an integer ≥ 1, got {depth}")
    a = _flat(x1, "x1")
    b = a if x2 is None else _flat(x2, "x2")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x1 and x2 have different input sizes {a.shape[1]} and {b.shape[1]}")
    d = a.shape[1]
    cov = a @ b.T / d
    q1, q2 = (a * a).sum(1, keepdim=True) / d, (b * b).sum(1)[None] / d
    theta = cov
    for _ in range(depth):
        cov, dot = _arccos(cov, q1, q2)
        theta = cov + theta * dot
        q1, q2 = q1 / 2, q2 / 2  # Σ_h(x, x) = q/2 for ReLU (θ = 0)
    return Result("relu_ntk", alpha ** 2 * theta, None, {"depth": depth, "alpha": alpha, "input_dim": d},
                  {"nngp": alpha ** 2 * cov})


def kernel_regression(K_train, K_cross, y, *, rate: float | None = None, steps: int | None = None,
                      rtol: float = 1e-10) -> Result:
    """f_T(x) = K(x, X) K⁻¹ (I − (I − ηK)^T) Y: gradient descent on the squared loss with a fixed kernel.

    K_train (n, n), K_cross (n_test, n), y (n,) or (n, k); ``rate`` η and ``steps`` T (both None:
    the interpolant, eigenvalues below rtol·λ_max dropped). value: (n_test, k) predictions;
    extra["train"]: the predictions on the training set.
    """
    K = torch.as_tensor(getattr(K_train, "value", K_train)).double()
    Kx = torch.as_tensor(getattr(K_cross, "value", K_cross)).double()
    Y = torch.as_tensor(y).double()
    Y = Y[:, None] if Y.dim() == 1 else Y
    n = K.shape[0]
    if K.shape != (n, n) or Kx.shape[1] != n or Y.shape[0] != n:
        raise ValueError(f"shapes do not match: K_train {tuple(K.shape)}, K_cross {tuple(Kx.shape)}, y {tuple(Y.shape)}")
    if (rate is None) != (steps is None):
        raise ValueError("give both rate and steps (gradient descent), or neither (the interpolant)")
    lam, U = torch.linalg.eigh((K + K.T) / 2)
    if rate is None:
        keep = lam > rtol * lam.max()
        g = torch.where(keep, 1.0 / lam.clamp_min(1e-300), torch.zeros_like(lam))
    else:
        if rate * float(lam.max()) >= 2:
            raise ValueError(f"rate {rate} diverges: η λ_max = {rate * float(lam.max()):.3g} ≥ 2")
        small = lam.abs() < 1e-12 * lam.abs().max()
        g = torch.where(small, torch.full_like(lam, rate * steps),
                        (1 - (1 - rate * lam) ** steps) / torch.where(small, torch.ones_like(lam), lam))
    coef = U @ (g[:, None] * (U.T @ Y))
    return Result("kernel_regression", Kx @ coef, None, {"rate": rate, "steps": steps, "n": n},
                  {"train": K @ coef})
