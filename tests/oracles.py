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


# --- issue 13 (weight spectra): numpy's SVD of a layer's dense map; the power-law MLE and KS by scipy ---
def layer_svd_numpy(fn, input_shape):
    """Singular values (descending) of the dense matrix of the linear map ``fn`` by ``numpy.linalg.svd``."""
    import numpy as np

    return np.linalg.svd(dense_matrix(fn, input_shape).numpy(), compute_uv=False)


def power_law_reference(x, x_min: float) -> tuple[float, float]:
    """(α̂, KS distance) of the tail x ≥ x_min by scipy: the Pareto MLE with fixed scale and ``kstest``."""
    import numpy as np
    from scipy import stats

    tail = np.asarray(x, dtype=np.float64)
    tail = tail[tail >= x_min]
    b, _, _ = stats.pareto.fit(tail, floc=0.0, fscale=x_min)  # density ∝ x^{−(b+1)}
    return b + 1.0, float(stats.kstest(tail, stats.pareto(b, scale=x_min).cdf).statistic)


# --- issue 14 (items 9 and 11): brute force for the Hessian ratio map and the Mann–Whitney U --------------------
def eigenvalue_ratio_brute(case, d1, d2, alphas, betas, names) -> list[list[float]]:
    """|λ_min/λ_max| of the dense Hessian block of parameters ``names`` at θ + α d₁ + β d₂, point by point
    (torch.func on the full flat vector, then the block's rows and columns, eigvalsh)."""
    theta = case.flat()
    idx, i = [], 0
    for n, p in case.model.named_parameters():
        if n in names:
            idx.extend(range(i, i + p.numel()))
        i += p.numel()
    idx = torch.tensor(idx)
    out = []
    for a in alphas:
        row = []
        for b in betas:
            H = torch.func.jacrev(torch.func.jacrev(case.loss))(theta + float(a) * d1 + float(b) * d2)
            ev = torch.linalg.eigvalsh(H[idx][:, idx])
            row.append(abs(float(ev[0])) / float(ev[-1]))
        out.append(row)
    return out


def mann_whitney_less(a, b) -> tuple[float, float]:
    """(U, one-sided p) for 'a is stochastically smaller than b': U counts pairs with a > b (ties ½), by a
    double loop, so small U favours the alternative; p = Φ((U − n₁n₂/2 + ½)/σ), the normal approximation
    with continuity correction (no tie correction), σ² = n₁n₂(n₁ + n₂ + 1)/12."""
    u = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
    n1, n2 = len(a), len(b)
    mu, sd = n1 * n2 / 2, math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    z = (u - mu + 0.5) / sd
    return u, 0.5 * math.erfc(-z / math.sqrt(2))


# --- issue 18 (ntk): the empirical NTK as an explicit Jacobian product; the infinite-width ReLU NTK
# pair by pair; kernel distance and alignment written out as sums ---

def dense_ntk(case, x1, x2=None) -> torch.Tensor:
    """Θ[i, j, c, d] = Σ_p J[i, c, p] J[j, d, p] with J the dense Jacobian of all outputs of the
    whole batch (jacrev on the flat parameter vector, model in eval mode)."""
    def jac(x):
        def out(flat):
            buffers = {n: b.clone() for n, b in case.model.named_buffers()}
            training = case.model.training
            case.model.eval()
            try:
                return torch.func.functional_call(case.model, {**case.unflat(flat), **buffers}, (x,))
            finally:
                case.model.train(training)
        J = torch.func.jacrev(out)(case.flat())  # (n, C, P)
        return J.reshape(len(x), -1, J.shape[-1])
    J1 = jac(x1)
    J2 = J1 if x2 is None else jac(x2)
    return torch.einsum("icp,jdp->ijcd", J1, J2)


def relu_ntk_pairwise(x1, x2, depth: int, alpha: float = 1.0) -> list[list[float]]:
    """Θ_∞ of the NTK-parameterized bias-free ReLU MLP, one pair (x, x') at a time with math.acos:
    the Jacot et al. 2018 / Arora et al. 2019 recursion with Cho & Saul's arc-cosine kernels
    (κ1(ρ) = (√(1−ρ²) + (π − acos ρ) ρ)/π, κ0(ρ) = (π − acos ρ)/π, each halved because c_σ = 1)."""
    rows = []
    for a in x1.double().reshape(len(x1), -1).tolist():
        row = []
        for b in x2.double().reshape(len(x2), -1).tolist():
            d = len(a)
            qa, qb = sum(u * u for u in a) / d, sum(v * v for v in b) / d
            s = sum(u * v for u, v in zip(a, b)) / d
            theta = s
            for _ in range(depth):
                rho = max(-1.0, min(1.0, s / math.sqrt(qa * qb)))
                k1 = (math.sqrt(1 - rho * rho) + (math.pi - math.acos(rho)) * rho) / math.pi
                k0 = (math.pi - math.acos(rho)) / math.pi
                s, dot = math.sqrt(qa * qb) * k1 / 2, k0 / 2
                theta = s + theta * dot
                qa, qb = qa / 2, qb / 2
            row.append(alpha ** 2 * theta)
        rows.append(row)
    return rows


def cosine_distance_loops(A, B) -> float:
    """1 − Σ a_ij b_ij / (√Σ a_ij² √Σ b_ij²), summed entry by entry."""
    a, b = [float(v) for v in A.reshape(-1)], [float(v) for v in B.reshape(-1)]
    dot = sum(u * v for u, v in zip(a, b))
    return 1 - dot / (math.sqrt(sum(u * u for u in a)) * math.sqrt(sum(v * v for v in b)))


def alignment_loops(K, Y) -> float:
    """Σ_ij K_ij (YYᵀ)_ij / (‖K‖_F ‖YYᵀ‖_F) with the target kernel built entry by entry."""
    n = K.shape[0]
    T = [[sum(float(Y[i][c]) * float(Y[j][c]) for c in range(len(Y[i]))) for j in range(n)] for i in range(n)]
    num = sum(float(K[i][j]) * T[i][j] for i in range(n) for j in range(n))
    kn = math.sqrt(sum(float(K[i][j]) ** 2 for i in range(n) for j in range(n)))
    tn = math.sqrt(sum(T[i][j] ** 2 for i in range(n) for j in range(n)))
    return num / (kn * tn)


def loglog_slope_stats(rows, x_key: str, y_key: str, where=lambda r: True) -> tuple[float, float]:
    """Per seed, scipy's least-squares slope of log y against log x over the rows ``where`` selects;
    (mean, standard error) over seeds."""
    from scipy import stats

    slopes = []
    for s in sorted({r["seed"] for r in rows}):
        pts = [(r[x_key], r[y_key]) for r in rows if r["seed"] == s and where(r) and r[y_key] > 0]
        slopes.append(stats.linregress([math.log(x) for x, _ in pts], [math.log(y) for _, y in pts]).slope)
    m = sum(slopes) / len(slopes)
    sd = math.sqrt(sum((v - m) ** 2 for v in slopes) / (len(slopes) - 1))
    return m, sd / math.sqrt(len(slopes))


def kernel_gd_loop(K, Kx, Y, eta: float, steps: int):
    """Gradient descent in the RKHS, step by step: c ← c − η (K c − Y) from c = 0; returns
    (K(x, X) c_T, K c_T) — the test and training predictions after ``steps`` steps."""
    c = torch.zeros_like(Y)
    for _ in range(steps):
        c = c - eta * (K @ c - Y)
    return Kx @ c, K @ c
