"""Every brute-force reference of the test suite, once (STYLE #8, #19).

Dense matrices built from basis vectors, exact Hessians and GGNs by ``torch.func`` on the flat
parameter vector, paths enumerated one by one: slow, obviously correct answers to compare the
instruments against, on tiny float64 problems.
"""
from __future__ import annotations

import itertools
import math

import torch


def dense_matrix(fn, input_shape) -> torch.Tensor:
    """A with A[:, j] = fn(e_j) − fn(0): the (affine) map applied to every basis vector, one at a time (float64)."""
    n = math.prod(input_shape)
    with torch.no_grad():
        zero = fn(torch.zeros(1, *input_shape, dtype=torch.float64)).reshape(-1)
        cols = [fn(torch.eye(n, dtype=torch.float64)[j].reshape(1, *input_shape)).reshape(-1) - zero for j in range(n)]
    return torch.stack(cols, 1)


def dense_hessian(case) -> torch.Tensor:
    """∇²L of a :class:`cases.Case` at its parameters, reverse-over-reverse (forward-mode AD would load
    torch's deprecated jit decompositions)."""
    return torch.func.jacrev(torch.func.jacrev(case.loss))(case.flat())


def dense_ggn(case) -> torch.Tensor:
    """Jᵀ ∇²_z ℓ J of a :class:`cases.Case`, with J the dense Jacobian of all outputs."""
    flat = case.flat()
    J = torch.func.jacrev(case.outputs)(flat)
    z = case.outputs(flat).detach()
    J = J.reshape(z.numel(), -1)
    lz = lambda zz: case.loss_fn(zz.view_as(z), case.y)  # noqa: E731
    HL = torch.func.jacrev(torch.func.jacrev(lz))(z.reshape(-1))
    return J.T @ HL @ J


def mlp_path_sum(weights: list[torch.Tensor], p: float) -> float:
    """Σ over every input→output path of ∏ |w_e|^p, enumerated path by path (bias-free MLP weights)."""
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    total = 0.0
    for path in itertools.product(*(range(s) for s in sizes)):
        prod = 1.0
        for layer, w in enumerate(weights):
            prod *= abs(float(w[path[layer + 1], path[layer]])) ** p
        total += prod
    return total


def kendall_tau_pairs(a, b) -> float:
    """τ_a by an explicit O(n²) loop over pairs (ties count 0)."""
    n, s = len(a), 0.0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            s += (da > 0) - (da < 0) if db > 0 else ((da < 0) - (da > 0) if db < 0 else 0)
    return 2 * s / (n * (n - 1))


def spearman_rho(a, b) -> float:
    """Spearman's ρ as the Pearson correlation of average ranks, computed by hand."""
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(v):
            j = i
            while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r
    ra, rb = ranks(list(a)), ranks(list(b))
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = math.sqrt(sum((x - ma) ** 2 for x in ra))
    vb = math.sqrt(sum((y - mb) ** 2 for y in rb))
    return cov / (va * vb)



# --- issue 8 (depth and near-identities): brute-force references --------------------------------

def spectral_norm(M) -> float:
    """‖M‖₂ as the largest singular value of the dense matrix."""
    return float(torch.linalg.svdvals(torch.as_tensor(M, dtype=torch.float64))[0])


def deep_linear_loss_autograd(thetas, Phi):
    """(F, [∇_{Θ_i} F]) for F = ½‖Θ_L⋯Θ_1 − Φ‖²_F by autograd on the plain product."""
    ts = [torch.tensor(T, dtype=torch.float64, requires_grad=True) for T in thetas]
    P = torch.eye(ts[0].shape[0], dtype=torch.float64)
    for T in ts:
        P = T @ P
    F = 0.5 * ((P - torch.as_tensor(Phi, dtype=torch.float64)) ** 2).sum()
    return float(F.detach()), [g.numpy() for g in torch.autograd.grad(F, ts)]


def empirical_q(layers, x, y, perturb=None) -> float:
    """Q(h) = ½ mean_j ‖h(x_j) − y_j‖² with layers applied one by one; ``perturb = (i, fn)`` adds fn to layer i."""
    z = x
    for k, layer in enumerate(layers):
        out = layer(z)
        if perturb is not None and perturb[0] == k:
            out = out + perturb[1](z)
        z = out
    return 0.5 * float(((z - y) ** 2).sum(1).mean())


def lookup(points: torch.Tensor, values: torch.Tensor):
    """Δ with Δ(points_j) = values_j (rows matched exactly): a perturbation defined on a sample."""
    def fn(z):
        idx = [int(torch.nonzero((points == row).all(1))[0]) for row in z]
        return values[idx]
    return fn


def jacobian_by_differences(f, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """(N, d, d) Jacobians of a batched map by central differences, one coordinate at a time."""
    cols = []
    for k in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[:, k] = h
        cols.append((f(x + e) - f(x - e)) / (2 * h))
    return torch.stack(cols, 2)
