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



# --- issue 14 (bounds helper): augmented chains, bias paths, the PGDL conditional MI -------------

def augmented_matrices(weights, offsets) -> list:
    """Ã_i = [[W_i, c_i], [0, 1]] for every layer but the last, [W_L, c_L] for the last (dense, float64)."""
    mats = []
    for i, (w, c) in enumerate(zip(weights, offsets)):
        a = torch.cat([w.double(), c.double().reshape(-1, 1)], 1)
        if i < len(weights) - 1:
            a = torch.cat([a, torch.zeros(1, a.shape[1], dtype=torch.float64)], 0)
            a[-1, -1] = 1.0
        mats.append(a)
    return mats


def r_a_by_hand(mats, rhos, refs, l1: bool = False) -> float:
    """∏ρ_i‖A_i‖_σ (Σ(‖A_iᵀ − M_iᵀ‖_{2,1} / ‖A_i‖_σ)^{2/3})^{3/2} from dense matrices, row by row
    (``l1``: the entrywise ‖A_i − M_i‖_{1,1} in place of the (2,1) norm)."""
    s = [float(torch.linalg.svdvals(a)[0]) for a in mats]
    b = []
    for a, m in zip(mats, refs):
        rows = [(a[r] - m[r]) for r in range(a.shape[0])]
        b.append(sum(float(row.abs().sum()) if l1 else float(row.norm()) for row in rows))
    prod = 1.0
    for r, si in zip(rhos, s):
        prod *= r * si
    return prod * sum((bi / si) ** (2 / 3) for bi, si in zip(b, s)) ** 1.5


def mlp_path_sum_with_biases(weights, biases, p: float) -> float:
    """Σ over every path ending at an output of ∏ |w_e|^p, where a path starts at an input unit or
    at the bias of some layer (the weight of an edge from a constant unit), enumerated one by one."""
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    L = len(weights)
    total = 0.0
    for path in itertools.product(*(range(s) for s in sizes)):  # input -> output
        prod = 1.0
        for k, w in enumerate(weights):
            prod *= abs(float(w[path[k + 1], path[k]])) ** p
        total += prod
    for l in range(1, L + 1):  # bias of layer l -> output: units u_l, ..., u_L
        for path in itertools.product(*(range(s) for s in sizes[l:])):
            prod = abs(float(biases[l - 1][path[0]])) ** p
            for k in range(l + 1, L + 1):
                prod *= abs(float(weights[k - 1][path[k - l], path[k - l - 1]])) ** p
            total += prod
    return total


def pgdl_conditional_mi(rows, measure, axes, gap="gap") -> float:
    """The PGDL scoring program's K: 2×2×cells tables over all ordered pairs (self-pairs too),
    binary signs with strict '>', cells = every value combination of two distinct axes,
    MI and H(V_g) averaged over non-empty cells with equal weights, log base 2, min over pairs."""
    def h2(counts):
        t = sum(counts)
        return -sum(c / t * math.log2(c / t) for c in counts if c)

    best = math.inf
    for h1, h2_ in itertools.combinations(axes, 2):
        vals = {ax: sorted({r[ax] for r in rows}) for ax in (h1, h2_)}
        cells = list(itertools.product(vals[h1], vals[h1], vals[h2_], vals[h2_]))
        tables = {c: [[0, 0], [0, 0]] for c in cells}
        for a in rows:
            for b in rows:
                i = 0 if a[gap] > b[gap] else 1
                j = 0 if a[measure] > b[measure] else 1
                tables[(a[h1], b[h1], a[h2_], b[h2_])][i][j] += 1
        mi_sum = h_sum = 0.0
        for t in tables.values():
            total = t[0][0] + t[0][1] + t[1][0] + t[1][1]
            if total == 0:
                continue
            row, col = [t[0][0] + t[0][1], t[1][0] + t[1][1]], [t[0][0] + t[1][0], t[0][1] + t[1][1]]
            for i in range(2):
                for j in range(2):
                    if t[i][j]:
                        pij = t[i][j] / total
                        mi_sum += pij * math.log2(pij / (row[i] / total * col[j] / total))
            h_sum += h2(row)
        best = min(best, mi_sum / h_sum if h_sum > 1e-12 else 0.0)
    return best


# --- issue 11 (sgd helper): per-example gradients, the mini-batch noise covariance by enumeration ----

def per_example_gradients(case) -> torch.Tensor:
    """N × p: the gradient of each example's loss, one autograd call per example (float64)."""
    flat = case.flat().detach()
    rows = []
    for i in range(len(case.y)):
        f = flat.clone().requires_grad_(True)
        out = case.outputs(f)
        (g,) = torch.autograd.grad(case.loss_fn(out[i:i + 1], case.y[i:i + 1]), f)
        rows.append(g)
    return torch.stack(rows)


def minibatch_covariance_by_enumeration(case, batch_size: int) -> torch.Tensor:
    """Cov[ĝ_S] over every subset S of ``batch_size`` examples (uniform, without replacement), each
    ĝ_S the mean of its per-example gradients: the definition of Σ_B, no finite-population formula."""
    G = per_example_gradients(case)
    mean = G.mean(0)
    subsets = list(itertools.combinations(range(len(case.y)), batch_size))
    dev = torch.stack([G[list(s)].mean(0) - mean for s in subsets])
    return dev.T @ dev / len(subsets)


def top_subspace(A: torch.Tensor, k: int) -> torch.Tensor:
    """The top-k eigenvectors (columns) of a dense symmetric matrix."""
    w, V = torch.linalg.eigh(A)
    return V[:, torch.argsort(w, descending=True)[:k]]


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y on log x, by the normal equations written out (no numpy.polyfit)."""
    lx, ly = [math.log(v) for v in x], [math.log(v) for v in y]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def mean_and_se(values) -> tuple[float, float]:
    """Mean and standard error (sample sd / √n) written out."""
    n = len(values)
    m = sum(values) / n
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)
