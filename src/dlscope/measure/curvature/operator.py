"""The matrix-free curvature operator: Hessian and generalized Gauss-Newton of any loss of any module.

For data D split into batches b of sizes n_b (N = Σ n_b) and a ``loss_fn`` that returns the mean
loss of a batch, the empirical risk is

    L(θ) = Σ_b (n_b / N) · ℓ_b(θ),      ℓ_b(θ) = loss_fn(f(θ, x_b), y_b),

so unequal batches are weighted exactly and

    H = ∇²L(θ) = Σ_b (n_b/N) ∇²ℓ_b(θ),
    G = Σ_b (n_b/N) J_bᵀ (∂²ℓ_b/∂z²) J_b,   J_b = ∂f(θ, x_b)/∂θ   (Schraudolph 2002; Martens 2010).

Products H v are Pearlmutter's (1994) R-operator computed reverse-over-reverse on a first-order
gradient graph that is built once and reused for every product, as PyHessian does (Yao et al.
2020): on a 15k-parameter MLP this costs ≈0.4x a ``torch.func.jvp(grad(...))`` product that
rebuilds the forward pass each time. Several vectors at once use ``autograd.grad(...,
is_grads_batched=True)`` (a vmap over the backward pass) where that is faster (on accelerators).

The model is seen through ``torch.func.functional_call`` at a snapshot θ taken when the operator
is built; the caller's module, its buffers and ``.grad`` fields are never written. Batch norm is
in eval mode by default (``mode="eval"``), recorded in ``settings``; a determinism check refuses
a loss or gradient that changes between two passes over the same batch (dropout left on,
stochastic layers), in the spirit of curvlinops' ``check_deterministic``.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .._core.data import as_batches, batch_weights, data_hash
from .._core.params import ParamSpace, call
from .._core.state import mode_settings, snapshot, using_mode
from .base import CurvatureOperator

__all__ = ["HessianOperator", "GGNOperator", "hessian", "ggn"]


class _ModelCurvature(CurvatureOperator):
    """Curvature of L(θ) = Σ_b (n_b/N) loss_fn(f(θ, x_b), y_b) at a snapshot θ of a model.

    Subclasses give ``kind``, ``_build_pieces`` (what is kept of each batch's graph) and
    ``_product`` (one, or a vmapped batch of, matrix-vector products from those pieces).
    """

    kind = ""

    def __init__(self, model, loss_fn, data, *, params=None, mode="eval", reuse_graph=True, check_deterministic=True,
                 vectorize=None, _batches=None, _snap=None):
        self.model, self.loss_fn, self.mode, self.reuse_graph = model, loss_fn, mode, reuse_graph
        self.batches = as_batches(data) if _batches is None else _batches
        self.weights = batch_weights(self.batches)
        self.space = space = ParamSpace(model, params)
        self.fixed, self.buffers = snapshot(model) if _snap is None else _snap
        self.leaves = [self.fixed[n].clone().requires_grad_(True) for n in space.names]
        self.vectorize = space.device.type != "cpu" if vectorize is None else vectorize
        with using_mode(model, mode):
            # The determinism check compares batch 0 of an extra first-order pass with batch 0 of the
            # pass that builds the operator (for the Hessian, the graph-keeping pass also yields the
            # loss and gradient): two passes over batch 0 in all, not four.
            first = self._batch_grad(0, False) if check_deterministic else None
            self.loss, self.gradient, per_batch, self._pieces = self._first_pass()
            if check_deterministic:
                _check_deterministic(first, per_batch[0], space)
        super().__init__(space.dim, space.dtype, space.device, {
            "kind": self.kind, **mode_settings(model, mode), "dtype": str(space.dtype).removeprefix("torch."),
            "device": str(space.device), "num_params": space.dim,
            "params": "all" if params is None else list(space.names),
            "num_examples": sum(int(b[1].shape[0]) for b in self.batches), "num_batches": len(self.batches),
            "data_hash": data_hash(self.batches), "reuse_graph": reuse_graph,
            "check_deterministic": check_deterministic})

    def _tensors(self):
        # Fresh buffer copies per pass: train-mode BN updates them in place.
        return {**self.fixed, **dict(zip(self.space.names, self.leaves)),
                **{n: b.clone() for n, b in self.buffers.items()}}

    def _batch_grad(self, b, create_graph, need_grad=True):
        """(loss, outputs, gradient tuple) of batch b; the graph is kept when ``create_graph``."""
        x, y = self.batches[b]
        out = call(self.model, self._tensors(), x)
        loss = self.loss_fn(out, y)
        g = _grad(loss, self.leaves, create_graph=create_graph) if need_grad else None
        return loss, out, g

    def _first_pass(self):
        """(loss, gradient, per-batch results, pieces or None) from first-order passes."""
        loss, grad, per_batch = 0.0, torch.zeros(self.space.dim, dtype=self.space.dtype,
                                                 device=self.space.device), []
        for b, w in enumerate(self.weights):
            res = self._batch_grad(b, False)
            per_batch.append(res)
            loss += w * float(res[0].detach())
            grad += w * _flat(res[2], self.space)
        return loss, grad, per_batch, (self._build_pieces() if self.reuse_graph else None)

    def _matmat(self, V):
        with using_mode(self.model, self.mode):
            pieces = self._pieces if self._pieces is not None else self._build_pieces()
            m = V.shape[1]
            sp = self.space
            if self.vectorize and m > 1:
                Vs = [V[sp.slices[n]].T.reshape(m, *s) for n, s in zip(sp.names, sp.shapes)]
                cols = self._product(pieces, Vs, batched=True)
                return torch.cat([c.reshape(m, -1) for c in cols], dim=1).T
            out = torch.empty_like(V)
            for j in range(m):
                vs = list(sp.unflatten(V[:, j]).values())
                out[:, j] = sp.flatten(self._product(pieces, vs, batched=False))
            return out

    def block(self, names) -> "CurvatureOperator":
        missing = set(names) - set(self.space.names)
        if missing:
            raise KeyError(f"not parameters of this operator: {sorted(missing)}")
        return type(self)(self.model, self.loss_fn, None, params=list(names), mode=self.mode,
                          reuse_graph=self.reuse_graph, check_deterministic=False, vectorize=self.vectorize,
                          _batches=self.batches, _snap=(self.fixed, self.buffers))


class HessianOperator(_ModelCurvature):
    """H = ∇²_θ L(θ): Pearlmutter's R-operator, reverse-over-reverse on a kept gradient graph."""

    kind = "hessian"

    def _first_pass(self):
        if not self.reuse_graph:
            return super()._first_pass()
        per_batch: list = []
        pieces = self._build_pieces(per_batch)
        loss = sum(w * float(r[0].detach()) for w, r in zip(self.weights, per_batch))
        return loss, _flat(pieces, self.space), per_batch, pieces

    def _build_pieces(self, per_batch: list | None = None):
        """The weighted first-order gradient Σ_b w_b ∇ℓ_b with its graph kept for reuse; each batch's
        (loss, outputs, gradient) is appended to ``per_batch`` if given."""
        total = None
        for b, w in enumerate(self.weights):
            res = self._batch_grad(b, True)
            if per_batch is not None:
                per_batch.append(res)
            g = [None if gi is None else w * gi for gi in res[2]]
            total = g if total is None else [t if gi is None else (gi if t is None else t + gi)
                                             for t, gi in zip(total, g)]
        return total

    def _product(self, pieces, vs, batched):
        res = _grad(pieces, self.leaves, vs, retain_graph=True, is_grads_batched=batched)
        return [torch.zeros_like(v) if r is None else r for r, v in zip(res, vs)]


class GGNOperator(_ModelCurvature):
    """G = Σ_b (n_b/N) J_bᵀ ∇²_z ℓ_b J_b, J v by a double vector-Jacobian product."""

    kind = "ggn"

    def _build_pieces(self):
        """Per batch: outputs z (graph kept), ∇_z ℓ (graph kept), and Jᵀu with a dummy u (graph kept)."""
        pieces = []
        for b, w in enumerate(self.weights):
            out = self._batch_grad(b, False, need_grad=False)[1]
            z = out.detach().requires_grad_(True)
            gz = torch.autograd.grad(self.loss_fn(z, self.batches[b][1]), z, create_graph=True)[0]
            # J v by double-vjp: Jᵀu is linear in u, so ∂/∂u <Jᵀu, v> = J v.
            u = torch.zeros_like(out, requires_grad=True)
            jtu = _grad(out, self.leaves, u, create_graph=True)
            pieces.append((w, out, z, gz, u, jtu))
        return pieces

    def _product(self, pieces, vs, batched):
        kw = {"retain_graph": True, "is_grads_batched": batched}
        total = [torch.zeros_like(v) for v in vs]
        for w, out, z, gz, u, jtu in pieces:
            jv = _grad(jtu, [u], vs, **kw)[0]
            hjv = None if jv is None else _grad(gz, [z], jv, **kw)[0]
            if hjv is None:
                continue
            res = _grad(out, self.leaves, hjv, **kw)
            total = [t if r is None else t + w * r for t, r in zip(total, res)]
        return total


def hessian(model: nn.Module, loss_fn: Callable, data, *, params=None, mode: str = "eval",
            reuse_graph: bool = True, check_deterministic: bool = True,
            vectorize: bool | None = None) -> HessianOperator:
    """The Hessian H = ∇²_θ L(θ) of the mean loss over ``data`` (see module docstring).

    Args:
        model: any ``nn.Module``; left bit-identical.
        loss_fn: ``loss_fn(outputs, targets) -> mean loss`` of a batch.
        data: ``(x, y)`` tensors or an iterable of ``(x, y)`` batches (read once).
        params: parameter names or tensors to differentiate (a block of H); default all
            parameters with ``requires_grad``.
        mode: ``"eval"`` (default: BN running statistics, dropout off), ``"train"`` or ``"as-is"``.
        reuse_graph: keep each batch's first-order graph and reuse it for every product (fast;
            memory grows with the data). ``False`` rebuilds it per product (memory of one batch).
        check_deterministic: refuse a loss/gradient that differs between two passes.
        vectorize: compute several products in one vmapped backward pass; default on
            accelerators only (on CPU a loop is as fast).
    """
    return HessianOperator(model, loss_fn, data, params=params, mode=mode, reuse_graph=reuse_graph,
                           check_deterministic=check_deterministic, vectorize=vectorize)


def ggn(model: nn.Module, loss_fn: Callable, data, *, params=None, mode: str = "eval",
        reuse_graph: bool = True, check_deterministic: bool = True,
        vectorize: bool | None = None) -> GGNOperator:
    """The generalized Gauss-Newton G = Σ_b (n_b/N) J_bᵀ ∇²_z ℓ_b J_b (Schraudolph 2002).

    Positive semi-definite for convex losses; equals the Fisher for exponential-family losses
    such as cross-entropy (Martens 2020). Arguments as in :func:`hessian`.
    """
    return GGNOperator(model, loss_fn, data, params=params, mode=mode, reuse_graph=reuse_graph,
                       check_deterministic=check_deterministic, vectorize=vectorize)


def _grad(outputs, inputs, grad_outputs=None, **kw):
    """autograd.grad over the outputs that require grad; ``None`` for inputs they do not reach."""
    outs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    gos = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs] * len(outs)
    keep = [i for i, o in enumerate(outs) if o is not None and o.requires_grad]
    if not keep:
        return [None] * len(inputs)
    return list(torch.autograd.grad([outs[i] for i in keep], inputs,
                                    None if grad_outputs is None else [gos[i] for i in keep],
                                    allow_unused=True, **kw))


def _flat(grads, space):
    return space.flatten([torch.zeros(s, dtype=space.dtype, device=space.device) if g is None else g.detach()
                          for g, s in zip(grads, space.shapes)])


def _check_deterministic(first, second, space):
    """Refuse a loss or gradient that differs between two passes over the same batch."""
    (l1, _, g1), (l2, _, g2) = first, second
    l1, l2, g1, g2 = l1.detach(), l2.detach(), _flat(g1, space), _flat(g2, space)
    rtol = 1e-10 if l1.dtype == torch.float64 else 1e-5
    if not torch.allclose(l1, l2, rtol=rtol, atol=0) or \
            not torch.allclose(g1, g2, rtol=rtol, atol=rtol * float(g1.abs().max())):
        raise ValueError(
            f"the loss or its gradient changed between two passes over the same batch "
            f"(loss {l1.item():.10g} vs {l2.item():.10g}): the model is not deterministic "
            f"(dropout or another stochastic layer in training mode?). Use mode='eval', remove the "
            f"randomness, or pass check_deterministic=False if you know what you are measuring.")
