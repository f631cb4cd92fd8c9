"""Peak tensor memory of a computation, measured on any device (CPU included).

torch keeps allocator statistics for CUDA only; on a CPU there is no counter to read. This
tracker is a ``TorchDispatchMode``: every tensor an operator returns inside the ``with`` block
has its storage counted once (by the storage's identity, so views are free) and uncounted when
the storage is freed (a weak-reference finalizer). ``peak`` is the largest total of live storages
created inside the block, in bytes — what the block added on top of the memory it found
(parameters and inputs that existed before are not counted). Operators run under ``torch.func``
transforms (vmap, jvp, vjp) are seen after the transforms lower them to plain tensors, so the
count is of real allocations, not of logical batched tensors.
"""
from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ["PeakMemory"]


class PeakMemory(TorchDispatchMode):
    """``with PeakMemory() as m: ...`` then ``m.peak`` (bytes) and ``m.current`` (still alive)."""

    def __init__(self):
        super().__init__()
        self.current = 0
        self.peak = 0
        self._live: dict[int, weakref.finalize] = {}

    def _free(self, key: int, nbytes: int) -> None:
        self.current -= nbytes
        self._live.pop(key, None)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                st = t.untyped_storage()
                key = st._cdata
                if key not in self._live:
                    n = st.nbytes()
                    self.current += n
                    self._live[key] = weakref.finalize(st, self._free, key, n)
        self.peak = max(self.peak, self.current)
        return out
