"""Data: real datasets as device-resident tensors, their downloads, and Zhang et al.'s corruptions."""
from .corrupt import KINDS, corrupt
from .dataset import Dataset, stratified_indices, tensor_hash
from .datasets import NAMES, MissingDataError, load
from .fetch import SOURCES, ChecksumError, DownloadError, default_root, fetch, verify

__all__ = ["Dataset", "load", "corrupt", "fetch", "verify", "NAMES", "KINDS", "SOURCES", "MissingDataError",
           "ChecksumError", "DownloadError", "default_root", "stratified_indices", "tensor_hash"]
