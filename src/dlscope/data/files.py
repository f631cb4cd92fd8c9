"""Readers for the canonical files: IDX (MNIST, Fashion-MNIST) and CIFAR-10.

CIFAR-10 comes either as the official python pickle batches
(``cifar-10-batches-py/data_batch_{1..5}``, ``test_batch``) or as ``.npz`` files of
uint8 NHWC arrays (``cifar10_train.npz``, ``cifar10_test.npz`` with keys ``x``, ``y``).
"""
from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "read_cifar_batches", "read_cifar_npz"]

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic 0x0000 <dtype> <ndim>, big-endian dims, payload."""
    path = Path(path)
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic {raw[:4]!r})")
    dtype, ndim = raw[2], raw[3]
    if dtype not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX dtype code 0x{dtype:02x}")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    dt = np.dtype(_IDX_DTYPES[dtype])
    expected = int(np.prod(dims)) * dt.itemsize
    payload = raw[4 + 4 * ndim :]
    if len(payload) != expected:
        raise ValueError(f"{path}: payload has {len(payload)} bytes, header promises {expected} (truncated?)")
    return np.frombuffer(payload, dt).reshape(dims).astype(dt.newbyteorder("="))


def read_cifar_batches(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read the official python batches; returns (x uint8 NHWC, y int64)."""
    folder = Path(folder)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        xs.append(np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(np.asarray(d[b"labels"], np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def read_cifar_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an ``.npz`` holding ``x`` (N, 32, 32, 3) uint8 and ``y`` (N,)."""
    with np.load(path, allow_pickle=False) as d:
        x, y = d["x"], d["y"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"{path}: expected uint8 NHWC images, got {x.dtype} {x.shape}")
    return x, y.astype(np.int64)
