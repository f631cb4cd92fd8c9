"""The randomization tests of Zhang, Bengio, Hardt, Recht & Vinyals (ICLR 2017), §2.

``corrupt(ds, kind, fraction=p, seed=s)`` returns a new :class:`Dataset`:

* ``true_labels`` — unchanged (the control).
* ``random_labels`` — exactly round(p·n) training examples, chosen by the seed, get a
  label drawn uniformly from the C classes (it may coincide with the true one, as in
  the paper, so the expected fraction of *wrong* labels is p(1 − 1/C)).
* ``shuffled_pixels`` — one permutation of the input coordinates, drawn once, applied
  to every (selected) image: the spatial structure is destroyed but is consistent.
* ``random_pixels`` — an independent permutation per image.
* ``gaussian`` — inputs replaced by draws from N(μ, diag σ²) with the training set's
  per-coordinate mean and variance.

``fraction`` selects which examples are affected (for the pixel kinds too).

The test set, ``corrupt_test``: ``None`` (default) follows the paper — input corruptions
are applied to the test images too ("the same permutation is applied to all the images in
both training and test set"; random pixels and Gaussian images likewise), test *labels*
stay clean, so test error measures generalization to the true labels; ``True`` corrupts
the test labels as well; ``False`` leaves the test set untouched.
"""
from __future__ import annotations

import torch

from .dataset import Dataset

__all__ = ["corrupt", "KINDS"]

KINDS = ("true_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")


def _chosen(n: int, fraction: float, g: torch.Generator) -> torch.Tensor:
    k = int(round(fraction * n))
    return torch.randperm(n, generator=g)[:k]


def _apply(x, y, kind, fraction, g, num_classes, stats, perm):
    x, y = x.clone(), y.clone()
    idx = _chosen(len(y), fraction, g)
    if kind == "random_labels":
        y[idx] = torch.randint(num_classes, (len(idx),), generator=g).to(y.device)
    elif kind == "shuffled_pixels":
        flat = x.reshape(len(x), -1)
        flat[idx] = flat[idx][:, perm.to(x.device)]
        x = flat.reshape(x.shape)
    elif kind == "random_pixels":
        flat = x.reshape(len(x), -1)
        d = flat.shape[1]
        perms = torch.argsort(torch.rand(len(idx), d, generator=g), dim=1).to(x.device)
        flat[idx] = torch.gather(flat[idx], 1, perms)
        x = flat.reshape(x.shape)
    elif kind == "gaussian":
        mean, std = stats
        flat = x.reshape(len(x), -1)
        noise = torch.randn(len(idx), flat.shape[1], generator=g, dtype=flat.dtype).to(x.device)
        flat[idx] = mean + std * noise
        x = flat.reshape(x.shape)
    return x, y


def corrupt(ds: Dataset, kind: str, *, fraction: float = 1.0, seed: int = 0,
            corrupt_test: bool | None = None) -> Dataset:
    """Apply one of Zhang et al.'s randomizations (see module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown corruption {kind!r}; choose one of {', '.join(KINDS)}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    if kind == "true_labels" or fraction == 0.0:
        return ds.replace(meta={**ds.meta, "corruption": {"kind": "true_labels", "fraction": 0.0}})
    g = torch.Generator().manual_seed(seed)
    flat = ds.x_train.reshape(ds.n_train, -1)
    stats = (flat.mean(0), flat.std(0))
    perm = torch.randperm(flat.shape[1], generator=g)
    xtr, ytr = _apply(ds.x_train, ds.y_train, kind, fraction, g, ds.num_classes, stats, perm)
    xte, yte = ds.x_test, ds.y_test
    if corrupt_test or (corrupt_test is None and kind != "random_labels"):
        xte, yte = _apply(xte, yte, kind, fraction, g, ds.num_classes, stats, perm)
    meta = {**ds.meta, "corruption": {"kind": kind, "fraction": fraction, "seed": seed, "corrupt_test": corrupt_test}}
    return ds.replace(x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, meta=meta)
