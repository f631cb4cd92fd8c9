"""The curvature-operator interface: a symmetric matrix known through its products (STYLE #18).

One base class with one private method to implement, ``_matmat`` (as
``scipy.sparse.linalg.LinearOperator`` does); every curvature instrument (Lanczos, trace,
density, critical points) takes any :class:`CurvatureOperator` or a dense matrix.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from .._core.params import ParamSpace

__all__ = ["CurvatureOperator", "DenseOperator", "as_operator"]


class CurvatureOperator:
    """A symmetric n×n matrix known through its products with vectors (subclasses implement ``_matmat``).

    ``op @ v`` (v of shape (n,)) and ``op @ V`` (V of shape (n, m)) return tensors on the
    operator's device and dtype; ``to_scipy()`` gives a ``scipy.sparse.linalg.LinearOperator``.
    ``settings`` records what the matrix is (kind, mode, dtype, data hash, parameters).
    ``num_matvecs`` counts the products computed so far (a cost meter, not state that changes
    any result).
    """

    space: ParamSpace | None = None
    loss: float | None = None
    gradient: torch.Tensor | None = None

    def __init__(self, dim: int, dtype, device, settings: dict):
        self.shape = (dim, dim)
        self.dtype, self.device = dtype, torch.device(device)
        self.settings = dict(settings)
        self.num_matvecs = 0

    def _matmat(self, V: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        if V.dim() != 2 or V.shape[0] != self.shape[0]:
            raise ValueError(f"expected a matrix of shape ({self.shape[0]}, m), got {tuple(V.shape)}")
        self.num_matvecs += V.shape[1]
        return self._matmat(V.to(self.device, self.dtype))

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.matmat(v.reshape(-1, 1)).reshape(-1)

    def __matmul__(self, other: torch.Tensor) -> torch.Tensor:
        return self.matvec(other) if other.dim() == 1 else self.matmat(other)

    def to_dense(self) -> torch.Tensor:
        """The full matrix from n products (small problems and tests only)."""
        return self.matmat(torch.eye(self.shape[0], dtype=self.dtype, device=self.device))

    def to_scipy(self) -> LinearOperator:
        """A float64 ``scipy.sparse.linalg.LinearOperator`` (e.g. for ``eigsh``)."""
        def mm(X):
            X = np.asarray(X, dtype=np.float64)
            vec = X.ndim == 1
            out = self.matmat(torch.as_tensor(X.reshape(self.shape[0], -1)))
            out = out.detach().cpu().double().numpy()
            return out.reshape(-1) if vec else out

        return LinearOperator(self.shape, matvec=mm, matmat=mm, rmatvec=mm, rmatmat=mm, dtype=np.float64)

    def layers(self) -> dict[str, list[str]]:
        """Parameter names grouped by the module that owns them (for per-layer blocks)."""
        if self.space is None:
            raise ValueError("this operator has no parameter structure")
        groups: dict[str, list[str]] = {}
        for n in self.space.names:
            groups.setdefault(n.rpartition(".")[0], []).append(n)
        return groups

    def block(self, names) -> "CurvatureOperator":
        """The diagonal block of the same matrix for a subset of its parameters, at the same θ."""
        raise ValueError("this operator has no parameter blocks")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings.get('kind', '?')}, n={self.shape[0]}, dtype={self.dtype})"


class DenseOperator(CurvatureOperator):
    """A dense symmetric matrix seen as an operator."""

    def __init__(self, A: torch.Tensor):
        super().__init__(A.shape[0], A.dtype, A.device, {"kind": "dense", "dtype": str(A.dtype).removeprefix("torch.")})
        self.A = A

    def _matmat(self, V):
        return self.A @ V


def as_operator(A) -> CurvatureOperator:
    """Wrap a dense symmetric matrix (tensor or array) as an operator; operators pass through."""
    if isinstance(A, CurvatureOperator):
        return A
    A = torch.as_tensor(A)
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ValueError("expected a square matrix")
    return DenseOperator(A)
