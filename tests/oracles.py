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



# --- issue 10: PAC-Bayes certificates (measure.pacbayes) -------------------------------------------

def kl_inverse_grid(q: float, c: float, points: int = 2_000_001) -> tuple[float, float]:
    """(largest grid p in [q, 1] with kl(q‖p) ≤ c, grid spacing): kl⁻¹ by exhaustive search on a grid."""
    import numpy as np

    p = np.linspace(q, 1.0, points)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(q > 0, q * np.log(q / p), 0.0)
        b = np.where(q < 1, (1 - q) * np.log((1 - q) / (1 - p)), 0.0)
    ok = np.nonzero(a + b <= c)[0]
    return float(p[ok[-1]]), float(p[1] - p[0])


def dense_gaussian_kl(mq, vq, mp, vp) -> float:
    """KL(N(mq, Σq) ‖ N(mp, Σp)) by the full-covariance formula with dense matrices (numpy):
    ½ [tr(Σp⁻¹Σq) + (mp − mq)ᵀΣp⁻¹(mp − mq) − d + ln det Σp − ln det Σq]."""
    import numpy as np

    mq, mp = np.asarray(mq, float), np.asarray(mp, float)
    Sq, Sp = np.diag(np.asarray(vq, float) * np.ones_like(mq)), np.diag(np.asarray(vp, float) * np.ones_like(mq))
    Pi = np.linalg.inv(Sp)
    diff = mp - mq
    return float(0.5 * (np.trace(Pi @ Sq) + diff @ Pi @ diff - len(mq)
                        + np.linalg.slogdet(Sp)[1] - np.linalg.slogdet(Sq)[1]))


def miss_probability(bound, p: float, m: int) -> float:
    """P_{K ~ Binomial(m, p)}[bound(K/m) < p], summed exactly over k: how often an upper bound on a
    mean from m Bernoulli(p) draws fails."""
    from scipy import stats

    return float(sum(stats.binom.pmf(k, m, p) for k in range(m + 1) if bound(k / m) < p))


def linear_snn_error(weight, bias, weight_std, bias_std, x, y) -> float:
    """Exact 0-1 error of the stochastic 2-class linear model logits = W x + b, every entry of (W, b)
    independent Gaussian: the error on (x, y) is P[z_other − z_y > 0] = Φ(m / s) with
    m = (w_o − w_y)·x + b_o − b_y and s² = Σ_k (σ²_{o,k} + σ²_{y,k}) x_k² + σ²_{b,o} + σ²_{b,y}."""
    from scipy import stats

    total = 0.0
    for xi, yi in zip(x.tolist(), y.tolist()):
        o = 1 - yi
        m = sum((weight[o][k] - weight[yi][k]) * xi[k] for k in range(len(xi))) + bias[o] - bias[yi]
        s2 = sum((weight_std[o][k] ** 2 + weight_std[yi][k] ** 2) * xi[k] ** 2 for k in range(len(xi)))
        s2 += bias_std[o] ** 2 + bias_std[yi] ** 2
        total += stats.norm.cdf(m / math.sqrt(s2))
    return total / len(y)
