"""‖A‖_σ of any linear map given as a function, in float64.

‖A‖_σ = max_{x≠0} ‖A x‖₂ / ‖x‖₂. Small inputs: the dense matrix A from the map applied to basis
vectors, then its top singular value. Larger ones: the top eigenvalue of AᵀA by ARPACK's Lanczos
(``scipy.sparse.linalg.eigsh``) with Aᵀ applied by autograd (exactly the adjoint). Lanczos rather
than power iteration: power iteration converges at rate (σ₂/σ₁)² and convolution spectra have
near-degenerate tops, where its iterates can stop changing long before they converge.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse.linalg as sla
import torch

__all__ = ["linear_map_norm"]


def linear_map_norm(apply, input_shape, *, tol: float = 1e-12, seed: int = 0,
                    dense_below: int = 256, dtype=torch.float64) -> float:
    """‖A‖_σ of a linear function ``apply`` on batches of shape (B, *input_shape).

    Dense SVD when the input has at most ``dense_below`` entries, else Lanczos on AᵀA with
    relative tolerance ``tol`` on the eigenvalue σ² (so about tol/2 on σ). The start vector is
    drawn from N(0, I) with ``seed``. Raises ``ArpackNoConvergence`` rather than return a guess.
    """
    input_shape = tuple(input_shape)
    n = math.prod(input_shape)
    with torch.no_grad():
        if n <= dense_below:
            basis = torch.eye(n, dtype=dtype).reshape(n, *input_shape)
            cols = apply(basis).reshape(n, -1)  # row i = A e_i, so this is Aᵀ
            return float(torch.linalg.matrix_norm(cols, ord=2))

    def ata(v):
        x = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)).to(dtype)
        x = x.reshape(1, *input_shape).requires_grad_(True)
        with torch.enable_grad():
            y = apply(x)
            (g,) = torch.autograd.grad(y, x, grad_outputs=y.detach())
        return g.detach().reshape(-1).double().numpy()

    op = sla.LinearOperator((n, n), matvec=ata, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    lam = sla.eigsh(op, k=1, which="LA", tol=tol, v0=v0, ncv=min(n - 1, 20),
                    maxiter=max(1000, 10 * n), return_eigenvectors=False)
    return math.sqrt(max(float(lam[0]), 0.0))
