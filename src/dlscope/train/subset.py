"""Training a chosen subset of a model's parameters, the rest frozen (``TrainConfig.train_only``).

Le Roux's experiment (a comment on Bubeck's 2015 post, seed 004): optimize one layer at a time with
the others fixed. ``train_only=("net.5",)`` trains the parameters of module ``net.5`` (and of its
submodules) only: every other parameter gets ``requires_grad=False`` for the run, so it receives no
gradient, no weight decay and no momentum (SGD skips parameters whose ``.grad`` is None) and its
backward pass is not computed. :func:`~dlscope.train.fit` hands the model back with the
``requires_grad`` flags it came with.
"""
from __future__ import annotations

from torch import nn

__all__ = ["Subset"]


class Subset:
    """The parameters of ``modules`` (all parameters when empty); names checked at construction.

    A name that is not a module of ``model`` owning parameters raises a one-line ValueError listing
    the modules that do.
    """

    def __init__(self, model: nn.Module, modules: tuple):
        self.model, self.modules = model, tuple(modules)
        names = [n for n, _ in model.named_parameters()]
        owners = sorted({n.rpartition(".")[0] for n in names})
        known = dict(model.named_modules())
        for m in self.modules:
            if m not in known or not any(n.startswith(m + ".") for n in names):
                raise ValueError(f"train_only: {m!r} is not a module with parameters; modules with parameters: "
                                 f"{', '.join(owners)}")
        self._before: dict[str, bool] | None = None

    def trains(self, name: str) -> bool:
        return not self.modules or any(name.startswith(m + ".") for m in self.modules)

    def freeze(self) -> None:
        """``requires_grad=False`` for every parameter outside the subset (flags remembered)."""
        self._before = {n: p.requires_grad for n, p in self.model.named_parameters()}
        for n, p in self.model.named_parameters():
            p.requires_grad_(self._before[n] and self.trains(n))

    def restore(self) -> None:
        """The ``requires_grad`` flags as they were before :meth:`freeze`."""
        if self._before is not None:
            for n, p in self.model.named_parameters():
                p.requires_grad_(self._before[n])
            self._before = None
