"""The structure of one forward pass, read from its autograd graph: is the network a chain?

Module hooks see every leaf-module call but not what ``forward`` does between calls: a residual
``h + block(h)``, a ``torch.cat`` of two branches, a functional ``torch.relu`` or ``x * 5``.
The autograd graph of the pass does see them, whatever Python ran (no symbolic tracing, so
data-dependent shapes such as ``x.reshape(len(x), …)`` are fine). :func:`record_calls` runs the
model once on zeros with ``x.requires_grad``, records each leaf call (its inputs' and output's
autograd nodes at call time: pre-hooks, so in-place ops are seen as they happened) and then:

* the nodes that depend on x and lie inside a call (reachable from the call's output node
  without crossing its input nodes) belong to that module;
* a node outside every call with two or more x-dependent inputs is a **join** (a residual add,
  a concatenation, a product of two branches); so is a leaf module fed two x-dependent tensors;
* every other x-dependent node outside the calls is a **functional op** placed after the call
  that precedes it: shape-only ops (views, permutes, slices, casts: isometries or projections,
  1-Lipschitz with f(0) = 0) are harmless, known activations contribute their Lipschitz constant
  (:data:`FUNCTIONAL`), anything else (a scaling, an ``exp``, an average pool) is *unaccounted*.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from .._core.state import preserved

__all__ = ["Call", "Op", "record_calls", "pool_lipschitz"]

_SHAPE = ("ViewBackward", "ReshapeAliasBackward", "UnsafeViewBackward", "CloneBackward", "PermuteBackward",
          "TransposeBackward", "TBackward", "SqueezeBackward", "UnsqueezeBackward", "ToCopyBackward",
          "AliasBackward", "SliceBackward", "SelectBackward", "NarrowBackward")
# grad_fn name -> (max |σ'|, σ(0) == 0); GELU: Φ(√2) + √2 φ(√2); SiLU: max of σ(x)(1 + x(1 − σ(x))).
FUNCTIONAL = {"ReluBackward0": (1.0, True), "TanhBackward0": (1.0, True), "SigmoidBackward0": (0.25, False),
              "GeluBackward0": (1.1289, True), "SiluBackward0": (1.0998, True), "SoftplusBackward0": (1.0, False)}


@dataclasses.dataclass
class Call:
    """One leaf-module call of the pass."""

    module: nn.Module
    x_in: torch.Tensor | None
    out: torch.Tensor
    n_dependent_inputs: int = 0
    ops_after: list = dataclasses.field(default_factory=list)  # functional ops that follow this call


@dataclasses.dataclass
class Op:
    """A functional op outside every module call."""

    name: str                 # the autograd node, e.g. "ReluBackward0"
    rho: float | None         # its Lipschitz constant (1 for shape ops), None if unknown
    zero_at_zero: bool        # f(0) = 0
    shape_only: bool = False


def pool_lipschitz(kernel, stride, dilation) -> float:
    """ℓ2-Lipschitz constant of a max-pool: sqrt of the most windows one input is in."""
    count = 1
    for k, s, d in zip(kernel, stride, dilation):
        count *= min(k, math.ceil(((k - 1) * d + 1) / s))
    return math.sqrt(count)


def _classify(node) -> Op:
    name = type(node).__name__
    if name.startswith(_SHAPE):
        return Op(name, 1.0, True, shape_only=True)
    if name in FUNCTIONAL:
        return Op(name, *FUNCTIONAL[name])
    if name == "HardtanhBackward0":
        lo, hi = float(node._saved_min_val), float(node._saved_max_val)
        return Op(name, 1.0, lo <= 0.0 <= hi)
    if name == "LeakyReluBackward0":
        return Op(name, max(1.0, abs(float(node._saved_negative_slope))), True)
    if name == "EluBackward0":
        return Op(name, max(1.0, float(node._saved_alpha)), True)
    if name.startswith("MaxPool") and name.endswith("WithIndicesBackward0"):
        k = tuple(node._saved_kernel_size)
        s = tuple(node._saved_stride) or k
        return Op(name, pool_lipschitz(k, s, tuple(node._saved_dilation)), True)
    return Op(name, None, False)


def _children(node):
    return [c for c, _ in node.next_functions if c is not None]


def _dependent(root, x_node) -> set:
    """Every node of the graph below ``root`` whose value depends on x (iterative post-order)."""
    dep, seen, stack = set(), set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            if node is x_node or any(c in dep for c in _children(node)):
                dep.add(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if c not in seen)
    return dep


def record_calls(model: nn.Module, input_shape) -> tuple[list, list, list]:
    """Run ``model`` once on zeros(1, *input_shape) (eval mode, model preserved).

    Returns (calls, joins, leading): the leaf calls in forward order, each with the functional
    ops that follow it (``ops_after``); one line per join saying where branches meet; and the
    functional ops applied to the input before any module call.
    """
    events, handles, pending = [], [], {}
    names = {m: n for n, m in model.named_modules()}

    def pre(m, inp):
        pending[id(m)] = [t.grad_fn if t.grad_fn is not None else t for t in inp if isinstance(t, torch.Tensor)]

    def post(m, inp, out):
        if isinstance(out, torch.Tensor):
            events.append((m, inp[0] if inp else None, out, pending.pop(id(m), []), out.grad_fn))

    for m in model.modules():
        if not list(m.children()):
            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    p = next(model.parameters(), None)
    try:
        with preserved(model), torch.inference_mode(False), torch.enable_grad():  # the graph is what we read
            x = torch.zeros(1, *tuple(input_shape), dtype=p.dtype if p is not None else torch.float32,
                            device=p.device if p is not None else "cpu", requires_grad=True)
            model.eval()
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    calls = [Call(m, x_in, out) for m, x_in, out, _, _ in events]
    root = y.grad_fn if isinstance(y, torch.Tensor) else None
    if root is None:
        return calls, [], []
    x_node = next((c for c in _walk(root) if type(c).__name__ == "AccumulateGrad" and c.variable is x), None)
    dep = _dependent(root, x_node)
    owner = {}  # node -> index of the call it lies in
    for i, (_, _, _, ins, out_fn) in enumerate(events):
        stops = {id(t) for t in ins} | {id(x)}
        calls[i].n_dependent_inputs = sum(1 for t in ins if t in dep or t is x)
        stack = [out_fn] if out_fn is not None and out_fn in dep and id(out_fn) not in stops else []
        while stack:
            node = stack.pop()
            if node in owner or node is x_node:
                continue
            owner[node] = i
            stack.extend(c for c in _children(node) if c in dep and id(c) not in stops and c not in owner)
    joins, leading = [], []
    for c in calls:
        if c.n_dependent_inputs >= 2:
            joins.append(f"feeds two branches into '{names[c.module]}'")
    outside = [(_predecessor(n, owner, x_node, dep), n) for n in dep if n not in owner and n is not x_node]
    for idx, node in sorted(outside, key=lambda t: -1 if t[0] is None else t[0]):
        kids = [c for c, _ in node.next_functions if c is not None and c in dep]
        if len(kids) >= 2:
            where = sorted({_after(k, owner, x_node, dep, events, names) for k in kids})
            joins.append(f"{_verb(node)} two branches ({' and '.join(where)})" if len(where) > 1
                         else f"{_verb(node)} a branch with itself ({where[0]})")
        elif idx is None:
            leading.append(_classify(node))
        else:
            calls[idx].ops_after.append(_classify(node))
    return calls, joins, leading


def _walk(root):
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack.extend(c for c in _children(node) if c not in seen)


def _predecessor(node, owner, x_node, dep):
    """Index of the call whose output (eventually) feeds ``node``, following x-dependent inputs."""
    seen = set()
    while node is not None and node not in seen:
        seen.add(node)
        if node in owner:
            return owner[node]
        if node is x_node:
            return None
        node = next((c for c in _children(node) if c in dep), None)
    return None


def _after(node, owner, x_node, dep, events, names) -> str:
    idx = _predecessor(node, owner, x_node, dep)
    return "the input" if idx is None else f"after '{names[events[idx][0]]}'"


def _verb(node) -> str:
    name = type(node).__name__
    return {"AddBackward0": "adds", "SubBackward0": "subtracts", "CatBackward0": "concatenates",
            "StackBackward0": "stacks", "MulBackward0": "multiplies"}.get(name, f"joins ({name})")
