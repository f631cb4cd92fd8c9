"""Smooth maps as compositions of near-identities (Bartlett, Evans & Long 2018, "Representing smooth
functions as compositions of near-identity functions with implications for deep network
optimization", arXiv:1804.05012, Thm 1; the seed talk's "Key ideas").

For h: ℝ^d → ℝ^d differentiable, invertible, with a Lipschitz derivative and a Lipschitz inverse,
h(0) = 0 and Dh(0) = I, and a schedule 0 = a_0 < a_1 < … < a_m = 1, put g_a(x) = h(a x)/a (g_0 = Id) and

    h_i = g_{a_i} ∘ g_{a_{i−1}}^{-1},   so that   h_i ∘ ⋯ ∘ h_1 = g_{a_i}   and   h_m ∘ ⋯ ∘ h_1 = h.

Each h_i is near the identity: with y = g_{a_{i−1}}(x), D h_i(y) = Dh(a_i x) Dh(a_{i−1} x)^{-1}, so
‖D h_i − I‖ ≤ ‖Dh(a_i x) − Dh(a_{i−1} x)‖ ‖Dh(a_{i−1}x)^{-1}‖ ≤ α (a_i − a_{i−1}) ‖x‖ M (α the
Lipschitz constant of Dh, M that of h^{-1}). BEL prove ‖h_i − Id‖_L = O(log m / m) on a bounded domain.

A general h is first normalized as the seed says: with x₀ the domain's centre, c = h(x₀) and
M = Dh(x₀) (det M > 0: positive orientation), h̃(x) = M^{-1}(h(x₀ + x) − c) has h̃(0) = 0, Dh̃(0) = I,
and h(x) = c + M h̃(x − x₀). The translations cost nothing (Lip(T − Id) = 0 for a translation T) and
M is spread over ``linear_layers`` near-identity matrices by :func:`near_identity_factorization`.

Numerics (float64): g_b^{-1}(y) = h^{-1}(b y)/b by Newton's method on h(w) = b y (damped, from
w = b y), made differentiable in y by one last Newton step under autograd (the implicit-function
derivative, exact at the solution). ‖h_i − Id‖_L is estimated on a seeded uniform sample of the
domain (a ball) two ways, both lower estimates of the seminorm on that sample: the largest
‖D h_i(y) − I‖₂ (from Jacobians of h, no inverse needed) and the largest chord ratio
‖(h_i − Id)(y) − (h_i − Id)(y')‖ / ‖y − y'‖ over random pairs.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
from torch.func import jacrev, vmap

from ..measure._core.random import generator
from .factorization import near_identity_factorization

__all__ = ["bel_composition", "BELComposition", "schedule"]


def schedule(m: int, kind: str = "uniform") -> list[float]:
    """a_1 < … < a_m = 1: ``uniform`` a_i = i/m; ``geometric`` a_i = m^{-(m−i)/(m−1)} (from 1/m to 1)."""
    if kind == "uniform":
        return [i / m for i in range(1, m + 1)]
    if kind == "geometric":
        return [1.0] if m == 1 else [m ** (-(m - i) / (m - 1)) for i in range(1, m + 1)]
    raise ValueError(f"schedule must be 'uniform' or 'geometric', got {kind!r}")


def _jacobians(f: Callable, x: torch.Tensor) -> torch.Tensor:
    """(N, d, d) Jacobians of a batched map f: (N, d) → (N, d) at every row of x."""
    return vmap(jacrev(lambda v: f(v[None])[0]))(x)


def _solve(h: Callable, t: torch.Tensor, tol: float, iters: int) -> tuple[torch.Tensor, float]:
    """w with h(w) = t (rows), by damped Newton from w = t; returns (w, max residual)."""
    w = t.clone()
    r = h(w) - t
    for _ in range(iters):
        res = r.norm(dim=1)
        if float(res.max()) <= tol * (1 + float(t.norm(dim=1).max())):
            break
        step = torch.linalg.solve(_jacobians(h, w), r.unsqueeze(-1)).squeeze(-1)
        lam = torch.ones(len(w), 1, dtype=w.dtype)
        for _ in range(30):  # halve the step of every row whose residual did not decrease
            cand = w - lam * step
            rc = h(cand) - t
            worse = rc.norm(dim=1) > res
            if not worse.any():
                break
            lam[worse] /= 2
        w, r = cand, rc
    return w, float(r.norm(dim=1).max())


@dataclasses.dataclass
class NearIdentityMap:
    """h_i(y) = g_a(g_b^{-1}(y)) with g_a(x) = h(a x)/a, g_0 = Id; optional translations before/after."""

    h: Callable
    b: float
    a: float
    shift_in: torch.Tensor | None = None
    tol: float = 1e-13
    iters: int = 50
    last_residual: float = 0.0

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        if self.shift_in is not None:
            y = y - self.shift_in
        if self.b == 0:
            x = y
        else:
            with torch.no_grad():
                w, self.last_residual = _solve(self.h, self.b * y.detach(), self.tol, self.iters)
            if torch.is_grad_enabled() and y.requires_grad:  # one Newton step under autograd: dw/dy = b Dh(w)^{-1}
                J = _jacobians(self.h, w)
                w = w - torch.linalg.solve(J, (self.h(w) - self.b * y).unsqueeze(-1)).squeeze(-1)
            x = w / self.b
        return self.h(self.a * x) / self.a


@dataclasses.dataclass
class LinearNearIdentity:
    """y ↦ (I + A) y (+ c): one factor of the linear part."""

    A: torch.Tensor
    shift_out: torch.Tensor | None = None

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        out = y + y @ self.A.T
        return out if self.shift_out is None else out + self.shift_out


@dataclasses.dataclass
class BELComposition:
    """The layers h_1 … h_m (callables on (N, d) float64 tensors) and what was verified about them."""

    layers: list
    a: list                     # the schedule of the nonlinear layers
    lipschitz: list             # per layer: max(jacobian, chord) estimate of ‖h_i − Id‖_L
    jacobian: list              # per layer: max over the sample of ‖D h_i − I‖₂
    chord: list                 # per layer: max chord ratio over random pairs
    composition_error: float    # max over check points of ‖h_m∘⋯∘h_1(x) − h(x)‖
    newton_residual: float      # largest ‖h(w) − t‖ left by the inverses during the check
    settings: dict

    @property
    def max_lipschitz(self) -> float:
        return max(self.lipschitz)


def _ball(n: int, d: int, radius: float, seed: int) -> torch.Tensor:
    g = generator(seed)
    u = torch.randn(n, d, generator=g, dtype=torch.float64)
    r = torch.rand(n, 1, generator=g, dtype=torch.float64) ** (1.0 / d)
    return radius * r * u / u.norm(dim=1, keepdim=True)


def bel_composition(h: Callable, m: int, *, dim: int, radius: float = 1.0, center=None, kind: str = "uniform",
                    linear_layers: int | None = None, n_points: int = 2000, n_pairs: int = 20000,
                    n_check: int = 200, seed: int = 0, newton_tol: float = 1e-13) -> BELComposition:
    """Spread h over m near-identity layers on the ball of ``radius`` about ``center`` (default 0).

    ``h`` maps (N, dim) float64 tensors to (N, dim), differentiably (torch ops). ``linear_layers``
    of the m carry M = Dh(center) (default: 0 when M = I, else m // 2); the rest follow the
    schedule ``kind``. Raises ``ValueError`` when det Dh(center) ≤ 0 or the split leaves no layer.
    """
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be an integer ≥ 1, got {m!r}")
    x0 = torch.zeros(dim, dtype=torch.float64) if center is None else torch.as_tensor(center, dtype=torch.float64)
    c = h(x0[None])[0].detach()
    M = _jacobians(h, x0[None])[0].detach()
    if float(torch.linalg.det(M)) <= 0:
        raise ValueError("det Dh(center) ≤ 0: h reverses orientation there, no composition of near-identities")
    is_identity = float((M - torch.eye(dim, dtype=torch.float64)).abs().max()) <= 1e-12
    k = (0 if is_identity else m // 2) if linear_layers is None else linear_layers
    if not 0 <= k < m or (k == 0 and not is_identity):
        raise ValueError(f"linear_layers must lie in [{0 if is_identity else 1}, m − 1] (Dh(center) "
                         f"{'=' if is_identity else '≠'} I), got {k}")
    Minv = torch.linalg.inv(M)
    ht = lambda v: (h(v + x0) - c) @ Minv.T  # noqa: E731  h̃(0) = 0, Dh̃(0) = I
    a = schedule(m - k, kind)
    x = _ball(n_points, dim, radius, seed)
    layers, jac, chord = [], [], []
    g = generator(seed + 1)
    p, q = torch.randint(0, n_points, (2, n_pairs), generator=g)
    keep = p != q
    p, q = p[keep], q[keep]
    eye = torch.eye(dim, dtype=torch.float64)
    J_prev, g_prev = eye.expand(n_points, dim, dim), x
    for i, ai in enumerate(a):
        b = a[i - 1] if i else 0.0
        layers.append(NearIdentityMap(ht, b, ai, shift_in=x0 if i == 0 and bool(x0.abs().max() > 0) else None,
                                      tol=newton_tol))
        J = _jacobians(ht, ai * x).detach()
        D = J @ torch.linalg.inv(J_prev) - eye
        jac.append(float(torch.linalg.matrix_norm(D, ord=2).max()))
        g_cur = (ht(ai * x) / ai).detach()
        e = g_cur - g_prev
        den = (g_prev[p] - g_prev[q]).norm(dim=1)
        chord.append(float(((e[p] - e[q]).norm(dim=1) / den).max()))
        J_prev, g_prev = J, g_cur
    lin = near_identity_factorization(M, k) if k else []
    for j, A in enumerate(lin):
        layers.append(LinearNearIdentity(A, shift_out=c if j == k - 1 else None))
        jac.append(float(torch.linalg.matrix_norm(A, 2)))
        chord.append(jac[-1])
    if k == 0 and bool(c.abs().max() > 0):
        layers[-1] = _Shifted(layers[-1], c)
    xc = x0 + _ball(n_check, dim, radius, seed + 2)
    z, worst = xc, 0.0
    with torch.no_grad():
        for layer in layers:
            z = layer(z)
            worst = max(worst, getattr(layer, "last_residual", 0.0))
        err = float((z - h(xc)).norm(dim=1).max())
    settings = {"m": m, "linear_layers": k, "schedule": kind, "radius": radius, "dim": dim, "n_points": n_points,
                "n_pairs": int(len(p)), "n_check": n_check, "seed": seed, "newton_tol": newton_tol, "dtype": "float64"}
    return BELComposition(layers, a, [max(u, v) for u, v in zip(jac, chord)], jac, chord, err, worst, settings)


@dataclasses.dataclass
class _Shifted:
    """A layer followed by a translation (Lip(T − Id) = 0, so ‖h_i − Id‖_L is unchanged)."""

    layer: Callable
    shift: torch.Tensor

    def __call__(self, y):
        return self.layer(y) + self.shift

    @property
    def last_residual(self):
        return getattr(self.layer, "last_residual", 0.0)
