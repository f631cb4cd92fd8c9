"""The in-memory dataset every part of dlscope passes around (STYLE #10).

Small datasets live on the device as whole tensors; batches are taken by slicing a
random permutation, never through DataLoader workers.
"""
from __future__ import annotations

import dataclasses
import hashlib

import torch

__all__ = ["Dataset", "tensor_hash", "stratified_indices"]


def tensor_hash(*tensors: torch.Tensor) -> str:
    """sha256 over dtype, shape and bytes of the tensors (first 16 hex digits)."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A classification dataset held as tensors.

    ``x_*`` are float tensors of shape ``(n, *input_shape)``; ``y_*`` are int64 class
    indices. ``meta`` records how it was built (source files, subset sizes, seed,
    corruption) and goes into every run directory.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    @property
    def hash(self) -> str:
        """Content hash of all four tensors: changes with any pixel, label or subset."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = tensor_hash(self.x_train, self.y_train, self.x_test, self.y_test)
            object.__setattr__(self, "_hash", cached)
        return cached

    def to(self, device) -> "Dataset":
        return dataclasses.replace(
            self,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
        )

    def replace(self, **changes) -> "Dataset":
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={self.n_train}, test={self.n_test}, "
                f"input_shape={self.input_shape}, classes={self.num_classes}, hash={self.hash})")


def stratified_indices(y: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Indices of a seeded subset of size ``n`` whose class proportions match ``y``'s.

    Each class c with count N_c gets floor(n N_c / N) examples; the remaining slots go
    to the classes with the largest fractional parts (largest-remainder rounding).
    """
    N = int(y.shape[0])
    if n > N:
        raise ValueError(f"asked for a subset of {n} examples but only {N} exist")
    if n == N:
        return torch.arange(N)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(N, generator=g)
    classes, counts = torch.unique(y, return_counts=True)
    quota = counts.double() * n / N
    take = quota.floor().long()
    rest = n - int(take.sum())
    if rest:
        order = torch.argsort(quota - take, descending=True, stable=True)
        take[order[:rest]] += 1
    ys = y[perm]
    chosen = [perm[ys == c][: int(k)] for c, k in zip(classes, take)]
    idx = torch.cat(chosen)
    return idx[torch.randperm(idx.numel(), generator=g)]
