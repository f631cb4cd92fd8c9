"""CIFAR-10 (Krizhevsky 2009) in its three on-disk forms, each read without running anything.

* ``.npz`` (what ``../shared/data`` holds): ``cifar10_{train,test}.npz`` with ``x`` (N, 32, 32, 3)
  uint8 NHWC and ``y`` (N,). The ``.npy`` headers are checked before any array is allocated.
* binary (the default download, ``cifar-10-binary.tar.gz``): ``cifar-10-batches-bin/``
  ``data_batch_{1..5}.bin``, ``test_batch.bin``; fixed 3073-byte records, 1 label byte then
  3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major). No pickle at all.
* python (``cifar-10-python.tar.gz``): ``cifar-10-batches-py/`` pickled dicts, read with
  :mod:`~dlscope.data.safe_pickle`, which admits only numpy's array reconstruction.

When several are present :func:`cifar_format` picks npz, then binary, then python. Every
reader returns ``(x uint8 NHWC, y int64)`` and raises ``DataFormatError`` for malformed bytes.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .safe_pickle import as_array, safe_loads
from .untrusted import MAX_BYTES, DataFormatError, checked_nbytes, read_exact, reading

__all__ = ["read_cifar_bin", "read_cifar_batches", "read_cifar_npz", "cifar_format", "cifar_files",
           "BIN_DIR", "PY_DIR", "BATCH_RECORDS"]

BIN_DIR, PY_DIR = "cifar-10-batches-bin", "cifar-10-batches-py"
PIXELS = 3 * 32 * 32
RECORD = 1 + PIXELS
BATCH_RECORDS = 10000  # images per official batch file (5 train, 1 test)
CLASSES = 10


def cifar_files(fmt: str, split: str) -> list[str]:
    """Relative paths of a split's files in format ``fmt`` (``"npz"``, ``"binary"``, ``"python"``)."""
    if fmt == "npz":
        return [f"cifar10_{split}.npz"]
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    return [f"{BIN_DIR}/{n}.bin" for n in names] if fmt == "binary" else [f"{PY_DIR}/{n}" for n in names]


def cifar_format(folder: str | Path) -> str | None:
    """Which form ``folder`` holds, preferring npz, then binary, then python; None if none."""
    folder = Path(folder)
    if any((folder / f"cifar10_{s}.npz").exists() for s in ("train", "test")):
        return "npz"
    if (folder / BIN_DIR).is_dir():
        return "binary"
    if (folder / PY_DIR).is_dir():
        return "python"
    return None


def _labels(y: np.ndarray, path) -> np.ndarray:
    if y.size and (int(y.min()) < 0 or int(y.max()) >= CLASSES):
        raise DataFormatError(f"{path}: labels range over [{int(y.min())}, {int(y.max())}], not CIFAR-10's 0..9")
    return y.astype(np.int64)


def _nhwc(flat: np.ndarray) -> np.ndarray:
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _check_count(path, n: int, records: int | None):
    if records is not None and n != records:
        raise DataFormatError(f"{path}: {n} images, expected {records}")


def read_cifar_bin(folder: str | Path, split: str, *, records: int | None = None,
                   max_bytes: int = MAX_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """The binary batches of ``split`` from ``cifar-10-batches-bin/`` (or ``folder`` itself if it is that).

    ``records``: images expected per file (10000 for the official files; None accepts any).
    """
    folder = Path(folder)
    folder = folder if folder.name == BIN_DIR else folder / BIN_DIR
    xs, ys = [], []
    for rel in cifar_files("binary", split):
        path = folder / Path(rel).name
        with reading(path, "CIFAR-10 binary batch"):
            size = path.stat().st_size
            if size == 0 or size % RECORD:
                raise DataFormatError(f"{path}: {size} bytes is not a whole number of {RECORD}-byte records")
            n = size // RECORD
            _check_count(path, n, records)
            checked_nbytes(path, (n, RECORD), 1, max_bytes)
            with open(path, "rb") as f:
                rec = read_exact(f, size, path).reshape(n, RECORD)
        ys.append(_labels(rec[:, 0], path))
        xs.append(_nhwc(rec[:, 1:]))
    return np.concatenate(xs), np.concatenate(ys)


def _field(d: dict, key: str):
    return d[key.encode()] if key.encode() in d else d.get(key)


def read_cifar_batches(folder: str | Path, split: str, *, records: int | None = None,
                       max_bytes: int = MAX_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """The python (pickle) batches of ``split`` from ``folder``, unpickled without running code."""
    folder = Path(folder)
    xs, ys = [], []
    for rel in cifar_files("python", split):
        path = folder / Path(rel).name
        with reading(path, "CIFAR-10 python batch"):
            size = path.stat().st_size
            if size > max_bytes:
                raise DataFormatError(f"{path}: {size} bytes, over the {max_bytes}-byte cap")
            with open(path, "rb") as f:
                d = safe_loads(read_exact(f, size, path).tobytes())
            if not isinstance(d, dict):
                raise DataFormatError(f"{path}: pickle holds a {type(d).__name__}, not a CIFAR-10 batch dict")
            data, labels = as_array(_field(d, "data")), _field(d, "labels")
            if data is None or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
                raise DataFormatError(f"{path}: 'data' is not a uint8 (N, {PIXELS}) array")
            if not isinstance(labels, list) or len(labels) != len(data) or any(type(v) is not int for v in labels):
                raise DataFormatError(f"{path}: 'labels' is not a list of {len(data)} ints")
            _check_count(path, len(data), records)
            y = np.array(labels, np.int64) if labels else np.zeros(0, np.int64)
        ys.append(_labels(y, path))
        xs.append(_nhwc(np.ascontiguousarray(data)))
    return np.concatenate(xs), np.concatenate(ys)


_NPZ_DTYPES = {"uint8": lambda dt: dt == np.uint8, "integer": lambda dt: dt.kind in "ui"}


def _npy(z: zipfile.ZipFile, key: str, path, expect: tuple, want: str, max_bytes: int) -> np.ndarray:
    """Member ``key.npy`` of an npz; its header must promise shape ``expect`` (None: any size) and a
    C-order array of dtype ``want`` under the byte cap, all checked before anything is allocated."""
    if f"{key}.npy" not in z.namelist():
        raise DataFormatError(f"{path}: no array {key!r} (has {', '.join(z.namelist())[:200]})")
    with z.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise DataFormatError(f"{path}: {key}.npy has .npy format version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        if fortran or not _NPZ_DTYPES[want](dtype) or len(shape) != len(expect) or any(
                e is not None and s != e for s, e in zip(shape, expect)):
            pattern = "x".join("N" if e is None else str(e) for e in expect)
            raise DataFormatError(f"{path}: {key}.npy promises {'Fortran-order ' if fortran else ''}{dtype} "
                                  f"{shape}, expected a C-order {want} array of shape {pattern}")
        nbytes = checked_nbytes(path, shape, dtype.itemsize, max_bytes)
        return read_exact(f, nbytes, path).view(dtype).reshape(shape)


def read_cifar_npz(path: str | Path, *, records: int | None = None,
                   max_bytes: int = MAX_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """An ``.npz`` holding ``x`` (N, 32, 32, 3) uint8 and ``y`` (N,) integers in 0..9 (N = ``records`` if given)."""
    path = Path(path)
    with reading(path, "CIFAR-10 npz"):
        with zipfile.ZipFile(path) as z:
            x = _npy(z, "x", path, (records, 32, 32, 3), "uint8", max_bytes)
            y = _npy(z, "y", path, (len(x),), "integer", max_bytes)
    return x, _labels(y, path)
