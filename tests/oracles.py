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



# --- issue 9 (over-parameterization presets): binomial intervals, exact tests, τ_b, min-norm least squares ---

def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials, from scipy's binomtest."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact p-value of the 2×2 table [[a, b], [c, d]] (row 1 has the larger success
    odds under the alternative), summing hypergeometric probabilities with math.comb."""
    row1, col1, n = a + b, a + c, a + b + c + d
    total = math.comb(n, col1)
    return sum(math.comb(row1, k) * math.comb(n - row1, col1 - k) for k in range(a, min(row1, col1) + 1)) / total


def kendall_tau_b_pairs(a, b) -> float:
    """τ_b by an explicit loop over pairs: (concordant − discordant) / √((n0 − ties_a)(n0 − ties_b))."""
    n, s, ta, tb = len(a), 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            ta += da == 0
            tb += db == 0
            s += (da * db > 0) - (da * db < 0)
    n0 = n * (n - 1) / 2
    return s / math.sqrt((n0 - ta) * (n0 - tb))


def min_norm_lstsq(features, targets):
    """Minimum-norm least-squares coefficients by numpy's SVD-based lstsq (float64)."""
    import numpy as np

    return np.linalg.lstsq(np.asarray(features, dtype=np.float64), np.asarray(targets, dtype=np.float64),
                           rcond=None)[0]
