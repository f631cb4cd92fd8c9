"""Readers for the canonical files, one module per format (this module gathers them).

* IDX (MNIST, Fashion-MNIST): :mod:`~dlscope.data.idx`.
* CIFAR-10 as ``.npz`` arrays, official binary records or official python pickles:
  :mod:`~dlscope.data.cifar` (pickles through :mod:`~dlscope.data.safe_pickle`).

All of them treat a file as untrusted (:mod:`~dlscope.data.untrusted`): sizes are checked
against the header and the expected shape before allocation, nothing in a file is
executed, and every malformed file raises one one-line ``DataFormatError``.
"""
from .cifar import cifar_format, read_cifar_batches, read_cifar_bin, read_cifar_npz
from .idx import IDX_SHAPES, read_idx
from .untrusted import MAX_BYTES, DataFormatError, MissingDataError

__all__ = ["read_idx", "read_cifar_bin", "read_cifar_batches", "read_cifar_npz", "cifar_format", "IDX_SHAPES",
           "MAX_BYTES", "DataFormatError", "MissingDataError"]
