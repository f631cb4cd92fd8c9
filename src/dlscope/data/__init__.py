"""Data: real datasets as device-resident tensors, their downloads, and Zhang et al.'s corruptions.

Files are untrusted input: readers (``files``: ``idx``, ``cifar``, ``safe_pickle``) check sizes
before allocating and execute nothing; a malformed file raises ``DataFormatError``, an absent
one ``MissingDataError``, both with a one-line message.
"""
from .corrupt import KINDS, corrupt
from .dataset import Dataset, stratified_indices, tensor_hash
from .datasets import NAMES, load
from .fetch import SOURCES, ChecksumError, DownloadError, default_root, fetch, verify
from .untrusted import DataFormatError, MissingDataError

__all__ = ["Dataset", "load", "corrupt", "fetch", "verify", "NAMES", "KINDS", "SOURCES", "MissingDataError",
           "DataFormatError", "ChecksumError", "DownloadError", "default_root", "stratified_indices", "tensor_hash"]
