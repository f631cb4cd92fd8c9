"""``load(name, ...)``: every dataset dlscope knows, as tensors on a device.

* ``mnist1d`` — Greydanus 2020's MNIST-1D, generated offline from its seed by the
  ``mnist1d`` package (4000 train / 1000 test, 40 features, 10 classes): the embedded
  default, a real benchmark that trains on a CPU in seconds.
* ``mnist``, ``fashion-mnist`` — the official IDX files; ``cifar10`` — the ``.npz`` arrays,
  the official binary batches or the official python batches, in that order of preference
  (:mod:`~dlscope.data.cifar`). Read from ``<root>/<name>/``, each file checked against its
  known shape (:mod:`~dlscope.data.untrusted`); pixels scaled to [0, 1] and standardized per
  channel with the full training set's mean and std.
* ``gaussian-mixture``, ``teacher`` — synthetic, seeded (see their docstrings); ``blum-rivest``,
  ``planted-teacher`` — planted teachers whose target is known (:mod:`~dlscope.data.planted`).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from . import cifar, planted
from .dataset import Dataset, stratified_indices
from .fetch import SOURCES, default_root, verify
from .idx import IDX_SHAPES, read_idx
from .untrusted import DataFormatError, MissingDataError

__all__ = ["load", "NAMES", "MissingDataError", "DataFormatError"]

NAMES = ("mnist1d", "mnist", "fashion-mnist", "cifar10", "gaussian-mixture", "teacher", "blum-rivest",
         "planted-teacher")


def _need(folder: Path, fname: str, name: str, fmt: str) -> Path:
    path = folder / fname
    checksum = SOURCES[name].formats.get(fmt, {}).get(fname) if name in SOURCES else None
    if not path.exists():
        raise MissingDataError(
            f"{name}: file {fname!r} not found in {folder} (root from --root, $DLSCOPE_DATA or "
            f"~/.cache/dlscope); get it with: dlscope data fetch {name}")
    if checksum is not None and not verify(path, checksum):
        raise MissingDataError(
            f"{name}: file {path} is corrupt or truncated (checksum mismatch {checksum}); delete it and "
            f"run: dlscope data fetch {name}")
    return path


def _images(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    """uint8 NHW or NHWC -> float32 NCHW, standardized per channel."""
    x = x.astype(np.float32) / 255.0
    if x.ndim == 3:
        x = x[:, None]
    else:
        x = x.transpose(0, 3, 1, 2)
    x = (x - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)
    return torch.from_numpy(np.ascontiguousarray(x))


def _channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of uint8 images scaled to [0, 1] (NHW: one channel; NHWC: three)."""
    xf = x.astype(np.float64) / 255.0
    if x.ndim == 3:
        return np.array([xf.mean()], np.float32), np.array([xf.std()], np.float32)
    return xf.mean(axis=(0, 1, 2)).astype(np.float32), xf.std(axis=(0, 1, 2)).astype(np.float32)


def _cifar10(folder: Path):
    """CIFAR-10 from the first form present (npz, binary, python); every file must be there."""
    fmt = cifar.cifar_format(folder)
    if fmt is None:
        raise MissingDataError(
            f"cifar10: no CIFAR-10 files in {folder} (looked for cifar10_{{train,test}}.npz, {cifar.BIN_DIR}/, "
            f"{cifar.PY_DIR}/; root from --root, $DLSCOPE_DATA or ~/.cache/dlscope); "
            "get them with: dlscope data fetch cifar10")
    for split in ("train", "test"):
        for f in cifar.cifar_files(fmt, split):
            _need(folder, f, "cifar10", fmt)
    n = cifar.BATCH_RECORDS  # per official batch file: 5 train, 1 test
    if fmt == "npz":
        xtr, ytr = cifar.read_cifar_npz(folder / "cifar10_train.npz", records=5 * n)
        xte, yte = cifar.read_cifar_npz(folder / "cifar10_test.npz", records=n)
    else:
        read, sub = ((cifar.read_cifar_bin, cifar.BIN_DIR) if fmt == "binary" else
                     (cifar.read_cifar_batches, cifar.PY_DIR))
        xtr, ytr = read(folder / sub, "train", records=n)
        xte, yte = read(folder / sub, "test", records=n)
    return xtr, ytr, xte, yte, fmt


@functools.lru_cache(maxsize=4)
def _raw(name: str, root: str):
    """Full train/test arrays of a file-backed dataset (cached: CIFAR's npz takes ~10 s to inflate)."""
    folder = Path(root) / name
    if name in ("mnist", "fashion-mnist"):
        # IDX_SHAPES lists train images, train labels, test images, test labels, in that order
        xtr, ytr, xte, yte = (read_idx(_need(folder, f, name, "idx"), IDX_SHAPES[f], dtype=np.uint8)
                              for f in IDX_SHAPES)
        for f, y in (("train-labels-idx1-ubyte.gz", ytr), ("t10k-labels-idx1-ubyte.gz", yte)):
            if y.size and int(y.max()) >= 10:
                raise DataFormatError(f"{folder / f}: label {int(y.max())} is not a class 0..9")
        files = "idx"
    elif name == "cifar10":
        xtr, ytr, xte, yte, files = _cifar10(folder)
    else:
        raise KeyError(name)
    mean, std = _channel_stats(xtr)
    return (_images(xtr, mean, std), torch.as_tensor(ytr.astype(np.int64)),
            _images(xte, mean, std), torch.as_tensor(yte.astype(np.int64)), files)


@functools.lru_cache(maxsize=4)
def _mnist1d(seed: int):
    # Deliberately lazy: the mnist1d package imports matplotlib.pyplot and requests at import time
    # (≈ 0.5 s), which nobody who does not load mnist1d should pay for.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    d = make_dataset(args)
    return (torch.tensor(d["x"], dtype=torch.float32), torch.tensor(d["y"], dtype=torch.int64),
            torch.tensor(d["x_test"], dtype=torch.float32), torch.tensor(d["y_test"], dtype=torch.int64))


def _gaussian_mixture(n: int, seed: int, sample_seed: int, dim: int = 20, classes: int = 4, sep: float = 2.0):
    """k isotropic unit Gaussians in R^d whose means are ``sep`` times seeded unit-norm-scaled vectors."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(classes, dim, generator=g)
    means = sep * means / means.norm(dim=1, keepdim=True)
    gd = torch.Generator().manual_seed(sample_seed)
    y = torch.randint(classes, (n,), generator=gd)
    x = means[y] + torch.randn(n, dim, generator=gd)
    return x, y, classes


def _teacher(n: int, seed: int, sample_seed: int, dim: int = 20, classes: int = 10, width: int = 64):
    """Labels from a seeded random two-layer ReLU teacher, y = argmax W2 relu(W1 x), x ~ N(0, I)."""
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(width, dim, generator=g) / dim ** 0.5
    w2 = torch.randn(classes, width, generator=g) / width ** 0.5
    gd = torch.Generator().manual_seed(sample_seed)
    x = torch.randn(n, dim, generator=gd)
    y = (torch.relu(x @ w1.T) @ w2.T).argmax(1)
    return x, y, classes


def load(name: str, *, root: str | Path | None = None, n_train: int | None = None, n_test: int | None = None,
         seed: int = 0, device: str | torch.device = "cpu") -> Dataset:
    """Load dataset ``name``; optional stratified, seeded subsets of ``n_train`` / ``n_test`` examples.

    ``seed`` picks the subsets and generates the synthetic sets. ``mnist1d`` is always the
    published dataset (generated with its own seed 42), so different seeds give different
    subsets of the same data, never different data.
    """
    if name not in NAMES:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(NAMES)}")
    root = Path(root) if root is not None else default_root()
    meta: dict = {"source": name, "seed": seed}
    if name == "mnist1d":
        xtr, ytr, xte, yte = _mnist1d(42)
        meta["generator"] = "mnist1d.make_dataset"
        classes = 10
    elif name in ("gaussian-mixture", "teacher"):
        make = _gaussian_mixture if name == "gaussian-mixture" else _teacher
        # one distribution (class means / teacher from ``seed``), two independent samples of it
        xtr, ytr, classes = make(n_train or 2000, seed, seed + 1)
        xte, yte, _ = make(n_test or 1000, seed, seed + 7919)
    elif name in ("blum-rivest", "planted-teacher"):  # one teacher from seed; train and test inputs drawn apart
        make = planted.blum_rivest if name == "blum-rivest" else planted.planted_teacher
        xtr, ytr, classes = make(n_train or 2000, seed)
        xte, yte, _ = make(n_test or 1000, seed, draw_seed=seed + 7919)
    else:
        xtr, ytr, xte, yte, files = _raw(name, str(root))
        meta.update(root=str(root), files=files)
        classes = 10
    if n_train is not None and n_train < len(ytr):
        idx = stratified_indices(ytr, n_train, seed)
        xtr, ytr = xtr[idx], ytr[idx]
    if n_test is not None and n_test < len(yte):
        idx = stratified_indices(yte, n_test, seed + 1)
        xte, yte = xte[idx], yte[idx]
    meta.update(n_train=len(ytr), n_test=len(yte))
    ds = Dataset(name, xtr.contiguous(), ytr.contiguous(), xte.contiguous(), yte.contiguous(), classes, meta)
    return ds.to(device) if str(device) != "cpu" else ds
