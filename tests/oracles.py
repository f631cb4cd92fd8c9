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
