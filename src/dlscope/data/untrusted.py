"""Reading untrusted data files: the two ways a file can fail, and reads bounded by a header's promise.

A dataset directory is untrusted input (mirrors, shared disks, a broken download), so
every reader in :mod:`dlscope.data` follows three rules:

* a file that is absent raises :class:`MissingDataError`; a file whose bytes are not
  what its format promises raises :class:`DataFormatError` — one line naming the file,
  never a ``struct.error``, ``zlib.error``, ``UnpicklingError`` or ``TypeError`` from
  deep inside a decoder;
* sizes come from the header and are checked (against the expected shape where the
  caller knows it, and against :data:`MAX_BYTES`) *before* anything is allocated;
* a compressed payload is decompressed in chunks and at most ``promised + 1`` bytes
  are pulled, so a small file that inflates to gigabytes costs at most what the
  header promised.
"""
from __future__ import annotations

import contextlib
import lzma
import math
import pickle
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["MissingDataError", "DataFormatError", "MAX_BYTES", "reading", "read_exact", "checked_nbytes"]

# The largest canonical payload dlscope reads is CIFAR-10's train images, 50000*32*32*3 B = 154 MB
# (MNIST's train images are 47 MB); a header promising more than this cap is refused unread.
MAX_BYTES = 1 << 28  # 256 MiB

_CHUNK = 1 << 20


class MissingDataError(FileNotFoundError):
    """A dataset file is absent or corrupt; the message says where and how to get it."""


_MAX_MESSAGE = 400


def _one_line(text: str) -> str:
    """One printable line of at most ``_MAX_MESSAGE`` characters.

    Decoders quote the bytes they choke on; a hostile file could otherwise put newlines or
    terminal escape sequences into the error the command line prints.
    """
    text = " ".join(str(text).split())
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


class DataFormatError(ValueError):
    """A data file's bytes do not follow its format; the message is one line naming the file."""

    def __init__(self, message: str):
        super().__init__(_one_line(message))


# What decoders raise on hostile bytes, as found by tests/data/test_fuzz_readers.py and the
# decoders' sources: gzip.BadGzipFile is an OSError; numpy's .npy header parser raises SyntaxError
# and tokenize.TokenError; zipfile raises RuntimeError (encrypted member) and NotImplementedError
# (unknown compression); MemoryError: a header under the cap on a small machine.
_DECODE_ERRORS = (OSError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                  OverflowError, RecursionError, MemoryError, NotImplementedError, RuntimeError,
                  SyntaxError, tokenize.TokenError, struct.error, zlib.error, lzma.LZMAError,
                  zipfile.BadZipFile, pickle.UnpicklingError)


@contextlib.contextmanager
def reading(path: str | Path, what: str):
    """Turn whatever decoding ``path`` raises into one :class:`DataFormatError` (absent: MissingDataError)."""
    try:
        yield
    except MissingDataError:
        raise
    except DataFormatError as e:
        if str(path) in str(e):
            raise
        raise DataFormatError(f"{path}: {e}") from e  # raised deep inside (e.g. by the unpickler)
    except FileNotFoundError as e:
        raise MissingDataError(f"{path}: file not found") from e
    except _DECODE_ERRORS as e:
        raise DataFormatError(f"{path}: not a valid {what} file ({type(e).__name__}: {e})") from e


def checked_nbytes(path, dims, itemsize: int, max_bytes: int, expected=None) -> int:
    """Bytes a payload of shape ``dims`` needs, refusing a shape != ``expected`` or over ``max_bytes``.

    Python integers: a product like 2**31 * 2**31 cannot overflow, it is simply refused.
    """
    dims = tuple(int(d) for d in dims)
    if expected is not None and dims != tuple(expected):
        raise DataFormatError(f"{path}: header promises shape {dims}, expected {tuple(expected)}")
    nbytes = math.prod(dims) * itemsize
    if nbytes > max_bytes:
        raise DataFormatError(f"{path}: header promises shape {dims} = {nbytes} bytes, over the "
                              f"{max_bytes}-byte cap (pass max_bytes= to read larger files)")
    return nbytes


def read_exact(f, nbytes: int, path) -> np.ndarray:
    """Exactly ``nbytes`` from the (possibly decompressing) stream ``f`` into a uint8 array.

    Reads in 1 MiB chunks into a buffer of the promised size, then asks for one byte more:
    a short stream ("truncated") or a longer one ("trailing data") is refused, so at most
    ``nbytes + 1`` decompressed bytes are ever pulled from ``f``.
    """
    buf = np.empty(nbytes, np.uint8)
    view = memoryview(buf)
    got = 0
    while got < nbytes:
        n = f.readinto(view[got : got + _CHUNK])
        if not n:
            raise DataFormatError(f"{path}: payload has {got} bytes, header promises {nbytes} (truncated)")
        got += n
    if f.read(1):
        raise DataFormatError(f"{path}: trailing data after the {nbytes} payload bytes the header promises")
    return buf
