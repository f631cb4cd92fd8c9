"""A pickle reader that admits only what CIFAR-10's python batches contain, and runs nothing else.

``pickle.load`` calls any importable function a file names (``os.system``, ``os.makedirs``
...), so a hostile ``data_batch_1`` runs code before the loader ever looks at it. The official
batches (Krizhevsky 2009, pickled by Python 2's cPickle) hold a ``dict`` of ``bytes`` keys, a
``list`` of ``int`` labels, ``bytes`` names and one uint8 ``numpy`` array. dicts, lists, ints,
strings and bytes are built by pickle opcodes, not by calling globals; the only globals the
files name are numpy's array reconstruction:
``numpy.core.multiarray._reconstruct`` (``numpy._core`` since numpy 2), ``numpy.ndarray`` and
``numpy.dtype`` (plus, for the same dict re-pickled by Python 3, ``_codecs.encode`` with the
latin-1 codec, which protocols 0-2 use for bytes, and ``numpy._core.numeric._frombuffer``,
which protocol 5 uses for arrays).

This module never hands those names to numpy. :class:`RestrictedUnpickler` maps each to a
stand-in that checks its arguments and builds the array itself with ``np.frombuffer`` (a
dtype from a short allow-list, a byte string of exactly ``prod(shape) * itemsize``), and
refuses every other global with one line naming it. Builtins such as ``bytes`` are refused
too: as *callables* they are bombs (``bytes(2**40)``), and the files never call them.
Before unpickling, the opcode stream is scanned (``pickletools.genops``, which reads each
length-prefixed argument from the data itself, so a length field of 2**40 allocates nothing):
it must be a single pickle of bounded length using no persistent ids, extension codes or
instance-building opcodes.
"""
from __future__ import annotations

import io
import math
import pickle
import pickletools
import warnings

import numpy as np

from .untrusted import DataFormatError

__all__ = ["RestrictedUnpickler", "safe_loads", "as_array"]

# The official batches have ~4 opcodes per image (label, name, memo): 10000 images -> ~40k.
MAX_OPCODES = 200_000
_REFUSED_OPCODES = {"PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX",
                    "NEXT_BUFFER", "READONLY_BUFFER"}
_DTYPES = {"u1", "|u1", "i1", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "<u2", ">u2", "<u4", ">u4",
           "<u8", ">u8", "i2", "i4", "i8", "u2", "u4", "u8", "uint8", "int8", "int32", "int64"}


def _text(x) -> str | None:
    if isinstance(x, bytes):
        return x.decode("latin1")
    return x if isinstance(x, str) else None


class _Global:
    """Stand-in for an admitted global: calls ``fn`` (None: not callable); refuses BUILD and setattr.

    A pickle can BUILD (``__setstate__`` / ``setattr``) on any object it holds, globals
    included; without this guard it could rewrite a stand-in's attributes for the whole process.
    """

    __slots__ = ("_name", "_fn")

    def __init__(self, name: str, fn):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_fn", fn)

    def __call__(self, *args):
        if self._fn is None:
            raise DataFormatError(f"pickle calls {self._name}, which the batches never call")
        return self._fn(*args)

    def __setstate__(self, state):
        raise DataFormatError(f"pickle tries to set the state of {self._name}")

    def __setattr__(self, name, value):
        raise DataFormatError(f"pickle tries to set {self._name}.{name}")


class _DType:
    """An allow-listed dtype; its pickled state may only set the byte order."""

    def __init__(self, spec, align=False, copy=True):
        text = _text(spec)
        if text not in _DTYPES:
            raise DataFormatError(f"pickle asks for dtype {spec!r}; only integer dtypes are accepted")
        self.dtype = np.dtype(text)

    def __setstate__(self, state):
        order = _text(state[1]) if isinstance(state, tuple) and len(state) > 1 else None
        if order not in ("|", "<", ">", "="):
            raise DataFormatError(f"pickle gives dtype state {state!r:.80}")
        if order in "<>" and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(order)


def _array(shape, dtype, data, order: str = "C") -> np.ndarray:
    if not (isinstance(shape, tuple) and all(type(d) is int and 0 <= d < 2**40 for d in shape)):
        raise DataFormatError(f"pickle gives array shape {shape!r:.80}")
    if not isinstance(dtype, _DType) or not isinstance(data, (bytes, bytearray)) or order not in ("C", "F"):
        raise DataFormatError("pickle gives a malformed array state")
    if len(data) != math.prod(shape) * dtype.dtype.itemsize:
        raise DataFormatError(f"pickle array of shape {shape} {dtype.dtype} has {len(data)} data bytes")
    return np.frombuffer(bytes(data), dtype.dtype).reshape(shape, order=order)


class _ArrayStub:
    """What ``_reconstruct(ndarray, (0,), b'b')`` returns; BUILD's state turns it into an array."""

    array: np.ndarray | None = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise DataFormatError(f"pickle gives array state of type {type(state).__name__}")
        shape, dtype, fortran, data = state[-4:]  # (version,) shape, dtype, is_fortran, raw bytes
        self.array = _array(shape, dtype, data, "F" if fortran else "C")


def _reconstruct(cls, shape, placeholder):
    if cls is not _ALLOWED[("numpy", "ndarray")] or shape != (0,):
        raise DataFormatError("pickle calls numpy's _reconstruct with unexpected arguments")
    return _ArrayStub()


def _latin1(text, codec):
    if not isinstance(text, str) or codec not in ("latin1", "latin-1"):
        raise DataFormatError("pickle calls _codecs.encode with arguments other than (str, 'latin1')")
    return text.encode("latin1")


def _frombuffer(buf, dtype, shape, order):
    return _array(shape, dtype, buf, _text(order) or "")


_ALLOWED = {key: _Global(".".join(key), fn) for key, fn in [
    (("numpy.core.multiarray", "_reconstruct"), _reconstruct),
    (("numpy._core.multiarray", "_reconstruct"), _reconstruct),
    (("numpy.core.numeric", "_frombuffer"), _frombuffer),
    (("numpy._core.numeric", "_frombuffer"), _frombuffer),
    (("numpy", "ndarray"), None),  # only ever an argument of _reconstruct
    (("numpy", "dtype"), _DType),
    (("_codecs", "encode"), _latin1),
]}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only numpy's array reconstruction (as stand-ins)."""

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise DataFormatError(f"refused to load global {module}.{name} from a pickle "
                                  "(only numpy array reconstruction is allowed)")
        return found

    def persistent_load(self, pid):
        raise DataFormatError("refused a persistent id in a pickle")


def _scan(data: bytes) -> None:
    """Refuse opcodes the batches never use, streams with too many opcodes, and trailing bytes."""
    n = 0
    end = None
    for op, _, pos in pickletools.genops(io.BytesIO(data)):
        n += 1
        if op.name in _REFUSED_OPCODES:
            raise DataFormatError(f"refused pickle opcode {op.name} at byte {pos}")
        if n > MAX_OPCODES:
            raise DataFormatError(f"pickle has more than {MAX_OPCODES} opcodes")
        if op.name == "STOP":
            end = pos + 1
    if end != len(data):
        raise DataFormatError(f"pickle ends at byte {end} of {len(data)} (trailing data)")


def safe_loads(data: bytes):
    """Unpickle ``data`` (bytes keys kept as bytes, like ``encoding="bytes"``) without running code.

    Raises ``DataFormatError`` for refused globals/opcodes; other decoding errors propagate
    for the caller's :func:`~dlscope.data.untrusted.reading` block to turn into one line.
    """
    with warnings.catch_warnings():  # a protocol-0 STRING with a bad escape warns: hostile text, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        _scan(data)
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def as_array(obj) -> np.ndarray | None:
    """The array a pickled array became (a reconstructed stub or ``_frombuffer``'s result), else None."""
    if isinstance(obj, _ArrayStub):
        return obj.array
    return obj if isinstance(obj, np.ndarray) else None
