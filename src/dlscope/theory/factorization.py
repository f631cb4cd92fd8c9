"""Products of near-identity matrices (Hardt & Ma, "Identity matters in deep learning", ICLR 2017, §2).

Every A ∈ ℝ^{d×d} with det A > 0 is a product A = (I + A_m) ⋯ (I + A_1) with max_i ‖A_i‖ = O(1/m)
(‖·‖ the spectral norm; Hardt & Ma 2017, Thm 2.1: max_i ‖A_i‖ = O((π + γ)/m)). With det A ≤ 0 no
such product with ‖A_i‖ < 1 exists: det(I + A_i) > 0 for every ‖A_i‖ < 1.

The construction here (the same ingredients as Hardt & Ma's proof: a polar decomposition and the
angles of a rotation) follows the geodesic t ↦ A(t) = U^t P^t from I to A, where A = U P is the polar
decomposition (U ∈ SO(d) because det A > 0, P symmetric positive definite), P^t = V Σ^t Vᵀ and
U^t = exp(t L) with L the real skew-symmetric logarithm of U (angles θ_k ∈ [−π, π], from the real
Schur form; an eigenvalue −1 pairs with another −1 into a rotation by π). The factors

    I + A_k = A(k/m) A((k−1)/m)^{-1} = U^{(k−1)/m} (U^{1/m} P^{1/m}) U^{-(k−1)/m},   k = 1, …, m,

telescope to A(1) A(0)^{-1} = A and are orthogonal conjugates of one matrix, so all have the same norm

    ‖A_k‖ = ‖U^{1/m} P^{1/m} − I‖ ≤ ‖U^{1/m} − I‖ ‖P^{1/m}‖ + ‖P^{1/m} − I‖
          ≤ e^{γ/m} (θ_max + γ) / m,     γ = max_i |log σ_i(A)|,  θ_max = max_k |θ_k| ≤ π,

using |e^{iθ/m} − 1| = 2 sin(|θ|/2m) ≤ |θ|/m and |e^{s/m} − 1| ≤ e^{|s|/m} |s|/m. Rotations by angles
near π are the hardest case for small factors: m ‖A_k‖ → θ_max ≈ π however well-conditioned A is.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch

__all__ = ["near_identity_factorization", "factorization_summary", "rotation_logarithm", "product"]

PRODUCT_TOL = 1e-10  # ‖∏(I + A_k) − A‖ / max(1, ‖A‖), float64


def _as_matrix(A) -> torch.Tensor:
    A = torch.as_tensor(np.asarray(A.detach().cpu() if isinstance(A, torch.Tensor) else A, dtype=np.float64))
    if A.dim() != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    if not torch.isfinite(A).all():
        raise ValueError("A has non-finite entries")
    return A


def _rotation_planes(U) -> tuple[np.ndarray, list]:
    """Z orthogonal and [(p, q, θ), …] with U = Z R Zᵀ, R the rotations by θ in the planes (e_p, e_q).

    From the real Schur form U = Z T Zᵀ (T block diagonal for a normal matrix): a 2×2 block
    [[c, −s], [s, c]] is the angle atan2(s, c); entries −1 (an even number of them when det U = 1)
    are paired into rotations by π; entries +1 are fixed directions.
    """
    T, Z = scipy.linalg.schur(np.asarray(U, dtype=np.float64), output="real")
    d = T.shape[0]
    planes, minus, i = [], [], 0
    while i < d:
        if i + 1 < d and abs(T[i + 1, i]) > 1e-12:  # a 2×2 rotation block
            planes.append((i, i + 1, math.atan2(T[i + 1, i] - T[i, i + 1], T[i, i] + T[i + 1, i + 1])))
            i += 2
        else:
            if T[i, i] < 0:
                minus.append(i)
            i += 1
    if len(minus) % 2:
        raise ValueError("U has det −1: it is not a rotation (no real logarithm)")
    planes += [(p, q, math.pi) for p, q in zip(minus[::2], minus[1::2])]
    return Z, planes


def rotation_logarithm(U) -> np.ndarray:
    """The real skew-symmetric L with expm(L) = U for U ∈ SO(d), angles in [−π, π]."""
    Z, planes = _rotation_planes(U)
    Lt = np.zeros_like(Z)
    for p, q, theta in planes:
        Lt[q, p], Lt[p, q] = theta, -theta
    return Z @ Lt @ Z.T


def _rotation_power(Z: np.ndarray, planes: list, t: float) -> torch.Tensor:
    """U^t = Z R(tθ) Zᵀ with the rotations written with cos/sin (exact to rounding, unlike a Padé expm)."""
    R = np.eye(Z.shape[0])
    for p, q, theta in planes:
        c, s = math.cos(t * theta), math.sin(t * theta)
        R[p, p], R[p, q], R[q, p], R[q, q] = c, -s, s, c
    return torch.as_tensor(Z @ R @ Z.T)


def _polar_pieces(A: torch.Tensor):
    W, s, Vh = torch.linalg.svd(A)
    U = W @ Vh
    return U, Vh.T, s


def near_identity_factorization(A, m: int) -> list[torch.Tensor]:
    """[A_1, …, A_m] (float64) with A = (I + A_m) ⋯ (I + A_1) and ‖A_k‖ ≤ e^{γ/m}(θ_max + γ)/m.

    Constructive (polar decomposition and the real logarithm of its rotation; see the module
    docstring). The product is verified to 1e-10 relative in float64 before returning.
    Raises ``ValueError`` when det A ≤ 0 (no product of near-identities has it) or A is not square.
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be an integer ≥ 1, got {m!r}")
    m = int(m)
    A = _as_matrix(A)
    sign, _ = torch.linalg.slogdet(A)
    if sign <= 0:
        det = float(torch.linalg.det(A))
        raise ValueError(f"det A = {det:.3g} ≤ 0: A is not a product of near-identity matrices "
                         "(det(I + A_i) > 0 whenever ‖A_i‖ < 1; Hardt & Ma 2017 assume det A > 0)")
    d = A.shape[0]
    U, V, s = _polar_pieces(A)
    Z, planes = _rotation_planes(U.numpy())
    root_P = V @ torch.diag(s ** (1.0 / m)) @ V.T
    B = _rotation_power(Z, planes, 1.0 / m) @ root_P - torch.eye(d, dtype=torch.float64)
    factors = []
    for k in range(1, m + 1):
        R = _rotation_power(Z, planes, (k - 1) / m)  # orthogonal: R^{-1} = Rᵀ
        factors.append(R @ B @ R.T)
    err = float(torch.linalg.matrix_norm(product(factors) - A, ord=2)) / max(1.0, float(torch.linalg.matrix_norm(A, 2)))
    if not err <= PRODUCT_TOL:
        raise ArithmeticError(f"factorization product error {err:.2e} exceeds {PRODUCT_TOL:g} (A too ill-conditioned?)")
    return factors


def product(factors) -> torch.Tensor:
    """(I + A_m) ⋯ (I + A_1) for factors [A_1, …, A_m]."""
    d = factors[0].shape[0]
    out = torch.eye(d, dtype=factors[0].dtype)
    for F in factors:
        out = (torch.eye(d, dtype=F.dtype) + F) @ out
    return out


def factorization_summary(A, m: int) -> dict:
    """The factorization's numbers: max‖A_k‖, m·max‖A_k‖, the product error, γ, θ_max and the bound."""
    A = _as_matrix(A)
    factors = near_identity_factorization(A, m)
    norms = [float(torch.linalg.matrix_norm(F, 2)) for F in factors]
    U, _, s = _polar_pieces(A)
    theta = max((abs(t) for _, _, t in _rotation_planes(U.numpy())[1]), default=0.0)
    gamma = float(torch.log(s).abs().max())
    err = float(torch.linalg.matrix_norm(product(factors) - A, 2)) / max(1.0, float(torch.linalg.matrix_norm(A, 2)))
    return {"m": int(m), "max_norm": max(norms), "m_times_max_norm": int(m) * max(norms), "product_error": err,
            "gamma": gamma, "theta_max": theta, "bound": math.exp(gamma / m) * (theta + gamma) / m}
