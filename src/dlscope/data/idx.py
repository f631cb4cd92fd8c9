"""IDX files (MNIST, Fashion-MNIST), optionally gzipped, read within the size their header promises.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): magic ``0x00 0x00 <dtype> <ndim>``,
``ndim`` big-endian uint32 dimensions, then ``prod(dims) * itemsize`` big-endian payload bytes.
The header is checked against the caller's expected shape and dtype and against a byte cap
before the payload buffer is allocated; the payload is then streamed (see
:func:`~dlscope.data.untrusted.read_exact`), so a 1 MB gzip that inflates to 1 GiB costs at
most the promised size, never the inflated one.
"""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from .untrusted import MAX_BYTES, DataFormatError, checked_nbytes, read_exact, reading

__all__ = ["read_idx", "IDX_SHAPES"]

_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MAX_NDIM = 8  # the format allows 255; no dataset uses more than 3

# The canonical files' shapes (MNIST and Fashion-MNIST share them), all uint8.
IDX_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}


def _exact(f, n: int, path) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise DataFormatError(f"{path}: not an IDX file (header cut off after {len(b)} of {n} bytes)")
    return b


def read_idx(path: str | Path, shape: tuple[int, ...] | None = None, *, dtype=None,
             max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip if the name ends in ``.gz``) as a native-endian array.

    ``shape`` / ``dtype``: what the caller expects (e.g. ``IDX_SHAPES[name]``, ``np.uint8``); a
    header promising anything else is refused before reading the payload. ``max_bytes``: the
    largest payload accepted when no shape is given. Any malformed file raises one
    :class:`~dlscope.data.untrusted.DataFormatError`.
    """
    path = Path(path)
    with reading(path, "IDX"):
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            head = _exact(f, 4, path)
            if head[0] != 0 or head[1] != 0:
                raise DataFormatError(f"{path}: not an IDX file (bad magic {head!r})")
            code, ndim = head[2], head[3]
            if code not in _IDX_DTYPES:
                raise DataFormatError(f"{path}: unknown IDX dtype code 0x{code:02x}")
            if not 1 <= ndim <= _MAX_NDIM:
                raise DataFormatError(f"{path}: IDX header has {ndim} dimensions (1..{_MAX_NDIM} accepted)")
            dims = struct.unpack(f">{ndim}I", _exact(f, 4 * ndim, path))
            dt = np.dtype(_IDX_DTYPES[code])
            if dtype is not None and dt != np.dtype(dtype):
                raise DataFormatError(f"{path}: header promises dtype {dt}, expected {np.dtype(dtype)}")
            nbytes = checked_nbytes(path, dims, dt.itemsize, max_bytes, expected=shape)
            payload = read_exact(f, nbytes, path)
    return payload.view(dt).reshape(dims).astype(dt.newbyteorder("="), copy=False)
