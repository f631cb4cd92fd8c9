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

import numpy as np
import torch
from torch import nn

from ._curv_common import (ParamSpace, as_batches, batch_weights, call, data_hash, mode_settings,
                           snapshot, using_mode)

__all__ = ["CurvatureOperator", "hessian", "ggn", "as_operator"]


class CurvatureOperator:
    """A symmetric n×n matrix known through its products with vectors.

    ``op @ v`` (v of shape (n,)) and ``op @ V`` (V of shape (n, m)) return tensors on the
    operator's device and dtype; ``to_scipy()`` gives a ``scipy.sparse.linalg.LinearOperator``.
    ``settings`` records what the matrix is (kind, mode, dtype, data hash, parameters).
    ``num_matvecs`` counts the products computed so far (a cost meter, not state that changes
    any result).
    """

    def __init__(self, matmat: Callable[[torch.Tensor], torch.Tensor], dim: int, dtype, device,
                 settings: dict, *, space: ParamSpace | None = None, block_fn=None,
                 loss: float | None = None, gradient: torch.Tensor | None = None):
        self._matmat = matmat
        self.shape = (dim, dim)
        self.dtype, self.device = dtype, torch.device(device)
        self.settings = dict(settings)
        self.space = space
        self._block_fn = block_fn
        self.loss, self.gradient = loss, gradient
        self.num_matvecs = 0

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        if V.dim() != 2 or V.shape[0] != self.shape[0]:
            raise ValueError(f"expected a matrix of shape ({self.shape[0]}, m), got {tuple(V.shape)}")
        self.num_matvecs += V.shape[1]
        return self._matmat(V.to(self.device, self.dtype))

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.matmat(v.reshape(-1, 1)).reshape(-1)

    def __matmul__(self, other: torch.Tensor) -> torch.Tensor:
        return self.matvec(other) if other.dim() == 1 else self.matmat(other)

    def to_dense(self) -> torch.Tensor:
        """The full matrix from n products (small problems and tests only)."""
        return self.matmat(torch.eye(self.shape[0], dtype=self.dtype, device=self.device))

    def to_scipy(self):
        """A float64 ``scipy.sparse.linalg.LinearOperator`` (e.g. for ``eigsh``)."""
        from scipy.sparse.linalg import LinearOperator

        def mm(X):
            X = np.asarray(X, dtype=np.float64)
            vec = X.ndim == 1
            out = self.matmat(torch.as_tensor(X.reshape(self.shape[0], -1)))
            out = out.detach().cpu().double().numpy()
            return out.reshape(-1) if vec else out

        return LinearOperator(self.shape, matvec=mm, matmat=mm, rmatvec=mm, rmatmat=mm, dtype=np.float64)

    def layers(self) -> dict[str, list[str]]:
        """Parameter names grouped by the module that owns them (for per-layer blocks)."""
        if self.space is None:
            raise ValueError("this operator has no parameter structure")
        groups: dict[str, list[str]] = {}
        for n in self.space.names:
            groups.setdefault(n.rpartition(".")[0], []).append(n)
        return groups

    def block(self, names) -> "CurvatureOperator":
        """The diagonal block of the same matrix for a subset of its parameters, at the same θ."""
        if self._block_fn is None:
            raise ValueError("this operator has no parameter blocks")
        missing = set(names) - set(self.space.names)
        if missing:
            raise KeyError(f"not parameters of this operator: {sorted(missing)}")
        return self._block_fn(list(names))

    def __repr__(self) -> str:
        return f"CurvatureOperator({self.settings.get('kind', '?')}, n={self.shape[0]}, dtype={self.dtype})"


def as_operator(A) -> CurvatureOperator:
    """Wrap a dense symmetric matrix (tensor or array) as an operator; operators pass through."""
    if isinstance(A, CurvatureOperator):
        return A
    A = torch.as_tensor(A)
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ValueError("expected a square matrix")
    return CurvatureOperator(lambda V: A @ V, A.shape[0], A.dtype, A.device,
                             {"kind": "dense", "dtype": str(A.dtype).removeprefix("torch.")})


def hessian(model: nn.Module, loss_fn: Callable, data, *, params=None, mode: str = "eval",
            reuse_graph: bool = True, check_deterministic: bool = True,
            vectorize: bool | None = None) -> CurvatureOperator:
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
    return _build("hessian", model, loss_fn, data, params, mode, reuse_graph, check_deterministic, vectorize)


def ggn(model: nn.Module, loss_fn: Callable, data, *, params=None, mode: str = "eval",
        reuse_graph: bool = True, check_deterministic: bool = True,
        vectorize: bool | None = None) -> CurvatureOperator:
    """The generalized Gauss-Newton G = Σ_b (n_b/N) J_bᵀ ∇²_z ℓ_b J_b (Schraudolph 2002).

    Positive semi-definite for convex losses; equals the Fisher for exponential-family losses
    such as cross-entropy (Martens 2020). Arguments as in :func:`hessian`.
    """
    return _build("ggn", model, loss_fn, data, params, mode, reuse_graph, check_deterministic, vectorize)


def _build(kind, model, loss_fn, data, params, mode, reuse_graph, check, vectorize,
           _batches=None, _snap=None):
    batches = as_batches(data) if _batches is None else _batches
    weights = batch_weights(batches)
    space = ParamSpace(model, params)
    fixed, buffers = snapshot(model) if _snap is None else _snap
    leaves = [fixed[n].clone().requires_grad_(True) for n in space.names]
    vectorize = space.device.type != "cpu" if vectorize is None else vectorize

    def tensors():
        # Fresh buffer copies per pass: train-mode BN updates them in place.
        return {**fixed, **dict(zip(space.names, leaves)), **{n: b.clone() for n, b in buffers.items()}}

    def batch_grad(b, create_graph, need_grad=True):
        """(loss, outputs, gradient tuple) of batch b; the graph is kept when ``create_graph``."""
        x, y = batches[b]
        out = call(model, tensors(), x)
        loss = loss_fn(out, y)
        g = _grad(loss, leaves, create_graph=create_graph) if need_grad else None
        return loss, out, g

    with using_mode(model, mode):
        # The determinism check compares batch 0 of an extra first-order pass with batch 0 of the
        # pass that builds the operator (for the Hessian, the graph-keeping pass also yields the
        # loss and gradient): two passes over batch 0 in all, not four.
        first = batch_grad(0, False) if check else None
        if kind == "hessian" and reuse_graph:
            per_batch: list = []
            pieces = _hessian_pieces(batch_grad, weights, per_batch)
            loss_value = sum(w * float(r[0].detach()) for w, r in zip(weights, per_batch))
            grad_flat = _flat(pieces, space)
        else:
            loss_value, grad_flat, per_batch = _loss_and_gradient(batch_grad, weights, space)
            pieces = _ggn_pieces(batch_grad, batches, weights, loss_fn, leaves) if reuse_graph else None
        if check:
            _check_deterministic(first, per_batch[0], space)

    def matmat(V):
        with using_mode(model, mode):
            ps = pieces
            if ps is None:
                ps = _hessian_pieces(batch_grad, weights) if kind == "hessian" \
                    else _ggn_pieces(batch_grad, batches, weights, loss_fn, leaves)
            return _apply(ps, V, space, leaves, vectorize, kind)

    settings = {"kind": kind, **mode_settings(model, mode), "dtype": str(space.dtype).removeprefix("torch."),
                "device": str(space.device), "num_params": space.dim,
                "params": "all" if params is None else list(space.names),
                "num_examples": sum(int(b[1].shape[0]) for b in batches), "num_batches": len(batches),
                "data_hash": data_hash(batches), "reuse_graph": reuse_graph,
                "check_deterministic": check}

    def block_fn(names):
        return _build(kind, model, loss_fn, None, names, mode, reuse_graph, False, vectorize,
                      _batches=batches, _snap=(fixed, buffers))

    return CurvatureOperator(matmat, space.dim, space.dtype, space.device, settings, space=space,
                             block_fn=block_fn, loss=loss_value, gradient=grad_flat)


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


def _hessian_pieces(batch_grad, weights, per_batch: list | None = None):
    """The weighted first-order gradient Σ_b w_b ∇ℓ_b with its graph kept for reuse; each batch's
    (loss, outputs, gradient) is appended to ``per_batch`` if given."""
    total = None
    for b, w in enumerate(weights):
        res = batch_grad(b, True)
        if per_batch is not None:
            per_batch.append(res)
        g = [None if gi is None else w * gi for gi in res[2]]
        total = g if total is None else [t if gi is None else (gi if t is None else t + gi)
                                         for t, gi in zip(total, g)]
    return total


def _ggn_pieces(batch_grad, batches, weights, loss_fn, leaves):
    """Per batch: outputs z (graph kept), ∇_z ℓ (graph kept), and Jᵀu with a dummy u (graph kept)."""
    pieces = []
    for b, w in enumerate(weights):
        out = batch_grad(b, False, need_grad=False)[1]
        z = out.detach().requires_grad_(True)
        gz = torch.autograd.grad(loss_fn(z, batches[b][1]), z, create_graph=True)[0]
        # J v by double-vjp: Jᵀu is linear in u, so ∂/∂u <Jᵀu, v> = J v.
        u = torch.zeros_like(out, requires_grad=True)
        jtu = _grad(out, leaves, u, create_graph=True)
        pieces.append((w, out, z, gz, u, jtu))
    return pieces


def _apply(pieces, V, space, leaves, vectorize, kind):
    m = V.shape[1]
    if vectorize and m > 1:
        Vs = [V[space.slices[n]].T.reshape(m, *s) for n, s in zip(space.names, space.shapes)]
        cols = _product(pieces, Vs, leaves, kind, batched=True)
        return torch.cat([c.reshape(m, -1) for c in cols], dim=1).T
    out = torch.empty_like(V)
    for j in range(m):
        vs = list(space.unflatten(V[:, j]).values())
        out[:, j] = space.flatten(_product(pieces, vs, leaves, kind, batched=False))
    return out


def _product(pieces, vs, leaves, kind, batched):
    kw = {"retain_graph": True, "is_grads_batched": batched}
    if kind == "hessian":
        res = _grad(pieces, leaves, vs, **kw)
        return [torch.zeros_like(v) if r is None else r for r, v in zip(res, vs)]
    total = [torch.zeros_like(v) for v in vs]
    for w, out, z, gz, u, jtu in pieces:
        jv = _grad(jtu, [u], vs, **kw)[0]
        hjv = None if jv is None else _grad(gz, [z], jv, **kw)[0]
        if hjv is None:
            continue
        res = _grad(out, leaves, hjv, **kw)
        total = [t if r is None else t + w * r for t, r in zip(total, res)]
    return total


def _loss_and_gradient(batch_grad, weights, space):
    """(Σ_b w_b ℓ_b, Σ_b w_b ∇ℓ_b, per-batch results) from first-order passes."""
    loss, grad, per_batch = 0.0, torch.zeros(space.dim, dtype=space.dtype, device=space.device), []
    for b, w in enumerate(weights):
        res = batch_grad(b, False)
        per_batch.append(res)
        loss += w * float(res[0].detach())
        grad += w * _flat(res[2], space)
    return loss, grad, per_batch
