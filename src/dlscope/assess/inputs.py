"""The examples a model is measured on: a dataset by name, a ``.npz`` of arrays, or a run's own data.

* ``inputs_by_name("cifar10", split="train", n=2000, seed=0)``: :func:`dlscope.data.load`, then a
  seeded, class-stratified subset of ``n`` examples of the split;
* ``inputs_from_npz(path, ...)``: arrays ``x`` and ``y`` (or ``x_train``/``y_train``,
  ``x_test``/``y_test``) read with ``allow_pickle=False`` — an object array is refused, never
  unpickled; ``x`` numeric with a leading example axis, ``y`` integer class labels of the same length;
* ``run_dataset(config)``: the dataset a training run recorded in its ``config.json`` (name, subset
  sizes and seed, Zhang et al.'s corruption), rebuilt and compared with the recorded hash.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ..data import NAMES, Dataset, corrupt, load, stratified_indices, tensor_hash
from .sources import AssessError

__all__ = ["Inputs", "inputs_by_name", "inputs_from_npz", "run_dataset", "take"]


class Inputs:
    """``x``, ``y`` tensors and a record of where they came from (for the report), with the content
    hash of exactly the examples measured (``data_hash``)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int, record: dict):
        self.x, self.y, self.num_classes = x, y, num_classes
        self.record = {**record, "data_hash": tensor_hash(x, y)}

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x.shape[1:])


def take(x: torch.Tensor, y: torch.Tensor, n: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded, class-stratified subset of ``n`` examples (all of them when n is None or ≥ len)."""
    if n is None or n >= len(y):
        return x, y
    if n < 1:
        raise AssessError(f"--n must be ≥ 1, got {n}")
    idx = stratified_indices(y, n, seed)
    return x[idx], y[idx]


def _split(ds: Dataset, split: str):
    if split not in ("train", "test"):
        raise AssessError(f"--split must be train or test, got {split!r}")
    return (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)


def inputs_by_name(name: str, *, split: str = "train", n: int | None = 2000, seed: int = 0,
                   root: str | None = None) -> Inputs:
    if name not in NAMES:
        raise AssessError(f"unknown dataset {name!r}; known: {', '.join(NAMES)} (or a .npz file of x and y)")
    ds = load(name, root=root)
    x, y = take(*_split(ds, split), n, seed)
    return Inputs(x, y, ds.num_classes, {"source": name, "split": split, "n": len(y), "subset_seed": seed,
                                         "dataset_hash": ds.hash})


def inputs_from_npz(path: str | Path, *, split: str = "train", n: int | None = 2000, seed: int = 0,
                    num_classes: int | None = None) -> Inputs:
    path = Path(path)
    if not path.is_file():
        raise AssessError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = set(f.files)
            kx, ky = next(((a, b) for a, b in (("x", "y"), (f"x_{split}", f"y_{split}")) if {a, b} <= names),
                          (None, None))
            if kx is None:
                raise AssessError(f"{path} must hold arrays x and y (or x_{split} and y_{split}); it has "
                                  f"{sorted(names)[:8]}")
            x, y = f[kx], f[ky]
    except AssessError:
        raise
    except ValueError as e:  # object arrays need pickle, which is never used
        raise AssessError(f"refusing {path}: {str(e).splitlines()[0]} (save plain numeric arrays)") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise AssessError(f"cannot read {path} as .npz: {e}") from None
    if x.dtype.kind not in "fiub" or x.ndim < 2:
        raise AssessError(f"{path}: x must be a numeric array of shape (n, ...), got {x.dtype} {x.shape}")
    if y.dtype.kind not in "iub" or y.ndim != 1 or len(y) != len(x):
        raise AssessError(f"{path}: y must be integer class labels of shape ({len(x)},), got {y.dtype} {y.shape}")
    if len(y) == 0 or y.min() < 0:
        raise AssessError(f"{path}: y must be non-empty class indices ≥ 0")
    classes = int(y.max()) + 1 if num_classes is None else num_classes
    xt, yt = take(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64), n, seed)
    return Inputs(xt, yt, classes, {"source": str(path), "split": split, "arrays": [kx, ky], "n": len(yt),
                                    "subset_seed": seed})


def run_dataset(config: dict, root: str | None = None) -> tuple[Dataset, bool]:
    """(the dataset a run trained on, whether its hash equals the one recorded in config.json)."""
    data = config.get("data", {})
    name = data.get("name")
    if name not in NAMES:
        raise AssessError(f"the run's config.json names no known dataset ({name!r}); pass --data")
    ds = load(name, root=root or data.get("root"), n_train=data.get("n_train"), n_test=data.get("n_test"),
              seed=data.get("seed", 0))
    c = data.get("corruption")
    if c and c.get("kind") not in (None, "true_labels"):
        ds = corrupt(ds, c["kind"], fraction=c.get("fraction", 1.0), seed=c.get("seed", 0),
                     corrupt_test=c.get("corrupt_test"))
    return ds, ds.hash == data.get("hash")
