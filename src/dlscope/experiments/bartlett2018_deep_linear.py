"""``bartlett2018-deep-linear`` — Bartlett, Helmbold & Long, "Gradient descent with identity
initialization efficiently learns positive definite linear transformations by deep residual networks",
ICML 2018; and the parametric negative result of Bartlett, Evans & Long 2018 (arXiv:1804.05012, §5).

Gradient descent on F(Θ) = ½‖Θ_L⋯Θ_1 − Φ‖²_F (the population loss for isotropic inputs) from
Θ_i = I (:func:`dlscope.theory.deep_linear_gd`), d ∈ 4–10, L ∈ 10–100, in BHL's three regimes:

* Φ symmetric positive definite: converges to ε, in a number of steps polynomial in L (the fitted
  log–log slope of steps against L is reported; η = lr / (L max(1, ‖Φ‖)²), as a stable step must
  shrink with L);
* Φ symmetric with a negative eigenvalue λ: fails — from the identity the layers stay equal,
  symmetric and commuting with Φ, so the product's eigenvalue along λ's eigenvector is μ^L ≥ 0 (μ
  cannot cross 0: the gradient vanishes there) and F ≥ ½λ² for ever;
* Φ with uᵀΦu > 0 for all u, not symmetric: converges with the balancing regularizer (layers re-set to
  equal factors, uᵀPu > 0 kept; see :mod:`dlscope.theory.deep_linear`). Plain GD is run beside it.

BEL 2018 (abstract, §5): with derivatives in the parameters of a fixed small residual net of sigmoid
units, there are suboptimal critical points in the near-identity region even in the realizable case —
unlike the functional derivatives of their Thm 3. Searched for here with
:func:`dlscope.measure.minimize_gradient_norm` on a depth-2 ``sigmoid-resnet`` student of a
near-identity teacher of the same architecture; at the point found, the functional gradient bound of
:func:`dlscope.theory.gradient_lower_bound` is evaluated too (it stays positive).

Scale: the default covers BHL's ranges (d = 6, L up to 100) on one CPU core; the ends of those ranges:
``--set dim=10 --set depths=10,20,50,100,200 --set max_steps=100000 --set starts=20 --set seeds=0,1,2``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

from .. import models
from ..measure import hessian_index, identity_gap, minimize_gradient_norm
from ..report.figures import save
from ..report.figures.bartlett2018_deep_linear import deep_linear_figure
from ..theory import deep_linear_gd, gradient_lower_bound
from ._depth import loglog_fit, synthetic_result
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config


@dataclasses.dataclass(frozen=True)
class Config:
    # model: targets Φ and depths L (BHL: d ∈ 4–10, L ∈ 10–100)
    dim: int = 6                       # d
    depths: tuple[int, ...] = (10, 20, 50, 100)  # L
    condition: float = 4.0             # κ(Φ) of the SPD targets: eigenvalues geometric in [κ^{-1/2}, κ^{1/2}]
    negative_eigenvalue: float = -0.5  # λ < 0 of the symmetric targets (the rest as the SPD ones)
    rotation_angle: float = 1.2        # non-symmetric targets: planes rotated by ±θ (|θ| < π/2 keeps uᵀΦu > 0)
    # gradient descent (exact population gradients)
    lr: float = 0.5                    # η = lr / (L · max(1, ‖Φ‖₂)²)
    max_steps: int = 20000             # budget of the converging runs
    negative_steps: int = 3000         # budget of the negative-eigenvalue runs
    # the parametric negative result (BEL 2018, §5): a sigmoid residual student of a teacher
    sig_dim: int = 2                   # d of the regression ℝ^d → ℝ^d
    sig_depth: int = 2                 # residual blocks x + A σ̃(B x)
    sig_width: int = 1                 # sigmoid units per block
    sig_points: int = 64               # training sample (x ~ N(0, I), y = teacher(x))
    teacher_scale: float = 1.2         # std·√width of the teacher's A (measured ε ≈ 0.85 < 1 at 1.2)
    starts: int = 6                    # searches for critical points from near-identity students
    start_scale: float = 0.5           # std·√width of the students' A at the start
    critical_steps: int = 3000         # Adam steps on ‖∇L‖² (minimize_gradient_norm)
    critical_lr: float = 0.01
    # claim tolerances
    eps: float = 1e-6                  # F ≤ eps counts as converged
    max_slope: float = 3.0             # "polynomial in L": fitted log–log slope of steps on L below this
    critical_tol: float = 1e-3         # a critical point: ‖∇θ Q‖ ≤ critical_tol · ‖∇θ Q(start)‖
    suboptimal_loss: float = 0.01      # Q at the point ≥ this (the teacher reaches 0): suboptimal
    nontrivial: float = 0.02           # some block with ‖h_i − Id‖_L ≥ this (lower bound): not the identity
    seeds: tuple[int, ...] = (0, 1)    # targets, teacher, data and starts
    device: str = "cpu"                # unused: float64 on the CPU

    def __post_init__(self):
        check_config(self)
        if not 2 <= self.dim or any(L < 1 for L in self.depths) or len(self.depths) < 2:
            raise ValueError("dim ≥ 2 and at least two depths ≥ 1")
        if self.condition < 1 or self.negative_eigenvalue >= 0 or not 0 < abs(self.rotation_angle) < np.pi / 2:
            raise ValueError("condition ≥ 1, negative_eigenvalue < 0, 0 < |rotation_angle| < π/2")
        if min(self.sig_dim, self.sig_depth, self.sig_width, self.sig_points, self.starts, self.critical_steps,
               self.negative_steps) < 1:
            raise ValueError("sizes and budgets must be ≥ 1")


QUICK = dict(dim=4, depths=(10, 20, 40), max_steps=5000, negative_steps=1000, starts=2, critical_steps=1500,
             seeds=(0,))

CLAIMS = declare(
    spd=ClaimSpec("Φ symmetric positive definite: gradient descent from the identity reaches ε in a number of steps "
                  "polynomial in L", "Bartlett, Helmbold & Long 2018, abstract and §3",
                  "F ≤ eps at every L and seed; fitted log–log slope of steps on L < max_slope"),
    negative=ClaimSpec("Φ symmetric with a negative eigenvalue λ: identity-initialized gradient descent fails — the "
                       "loss stays ≥ ½λ²", "Bartlett, Helmbold & Long 2018, abstract and §4",
                       "min loss over the budget ≥ ½λ² at every L and seed"),
    nonsymmetric=ClaimSpec("Φ with uᵀΦu > 0 for all u (not symmetric): gradient descent with the balancing "
                           "regularizer converges", "Bartlett, Helmbold & Long 2018, abstract and §5",
                           "F ≤ eps at every L and seed"),
    parametric=ClaimSpec("a small sigmoid residual net has suboptimal critical points in the near-identity region "
                         "even when the target is realizable", "Bartlett, Evans & Long 2018, abstract and §5",
                         "a point with ‖∇θQ‖ ≤ critical_tol·start, Q ≥ suboptimal_loss, every ‖h_i − Id‖_L < 1 "
                         "(upper bound) and some ≥ nontrivial (lower bound)"),
)


def _targets(cfg: Config, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    d = cfg.dim
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ev = cfg.condition ** np.linspace(-0.5, 0.5, d)
    neg = ev.copy()
    neg[0] = cfg.negative_eigenvalue
    B = np.eye(d)
    for p in range(0, d - 1, 2):
        t = cfg.rotation_angle * (1 if p % 4 == 0 else -1)
        s = ev[p]
        B[p:p + 2, p:p + 2] = s * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    if d % 2:
        B[-1, -1] = ev[-1]
    Q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return {"spd": Q @ np.diag(ev) @ Q.T, "negative": Q @ np.diag(neg) @ Q.T, "nonsymmetric": Q2 @ B @ Q2.T}


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    rows, curves = [], {}
    jobs = [(s, L) for s in cfg.seeds for L in cfg.depths]
    for j, (seed, L) in enumerate(jobs):
        if progress:
            progress("deep linear nets", j, len(jobs))
        for kind, Phi in _targets(cfg, seed).items():
            lr = cfg.lr / (L * max(1.0, np.linalg.norm(Phi, 2)) ** 2)
            for balanced in ((False, True) if kind == "nonsymmetric" else (False,)):
                budget = cfg.negative_steps if kind == "negative" else cfg.max_steps
                r = deep_linear_gd(Phi, L, lr=lr, max_steps=budget, tol=cfg.eps, balanced=balanced,
                                   record_every=max(1, budget // 200))
                name = kind + (" (balanced)" if balanced else "")
                rows.append({"part": "deep linear", "seed": seed, "target": name, "L": L, "steps": r["steps"],
                             "final_loss": r["final_loss"], "min_loss": min(t[1] for t in r["trajectory"]),
                             "half_lambda_squared": 0.5 * cfg.negative_eigenvalue ** 2 if kind == "negative" else None,
                             "max_deviation": r["max_deviation"], "diverged": r["diverged"], "lr": lr})
                curves[(seed, name, L)] = [(t[0], t[1]) for t in r["trajectory"]]
    points = [p for seed in cfg.seeds for p in _critical_points(cfg, seed, progress)]
    return _report(cfg, rows, curves, points, out)


def _critical_points(cfg: Config, seed: int, progress) -> list:
    d = cfg.sig_dim
    torch.manual_seed(seed)
    kw = dict(input_shape=(d,), num_classes=d, depth=cfg.sig_depth, width=cfg.sig_width)
    teacher = models.build("sigmoid-resnet", init_scale=cfg.teacher_scale, **kw).double()
    x = torch.randn(cfg.sig_points, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    with torch.no_grad():
        y = teacher(x)
    teacher_eps = identity_gap(teacher, x, seed=seed).extra["upper"]
    out = []
    for s in range(cfg.starts):
        if progress:
            progress(f"critical points (seed {seed})", s, cfg.starts)
        torch.manual_seed(1000 * (seed + 1) + s)
        student = models.build("sigmoid-resnet", init_scale=cfg.start_scale, **kw).double()
        net, r = minimize_gradient_norm(student, _q, (x, y), steps=cfg.critical_steps, lr=cfg.critical_lr)
        gap = identity_gap(net, x, seed=seed)
        row = {"part": "sigmoid critical point", "seed": seed, "start": s, "loss": r.extra["loss"],
               "start_loss": r.extra["initial_loss"], "grad_norm": r.value, "start_grad_norm": r.extra["initial_grad_norm"],
               "critical": r.value <= cfg.critical_tol * r.extra["initial_grad_norm"],
               "eps_lower": gap.value, "eps_upper": gap.extra["upper"], "teacher_eps_upper": teacher_eps,
               "hessian_index": hessian_index(net, _q, (x, y)).value, "functional_ratio": None,
               "functional_gradient_min": None}
        if row["eps_upper"] < 1:
            g = gradient_lower_bound(list(net.blocks), x, y, eps=row["eps_upper"])
            row.update(functional_ratio=g.value, functional_gradient_min=min(g.extra["lhs"]))
        out.append(row)
    return out


def _q(out, y):
    """Q = ½ mean ‖f(x) − y‖² (BEL's squared error on the sample)."""
    return 0.5 * ((out - y) ** 2).sum(1).mean()


def _report(cfg, rows, curves, points, out: Path) -> dict:
    def sel(name):
        return [r for r in rows if r["target"] == name]

    spd = sel("spd")
    measured = {"converged": f"{sum(r['steps'] is not None for r in spd)} of {len(spd)}"}
    ok = all(r["steps"] is not None for r in spd)
    if ok:
        slopes = [loglog_fit([r["L"] for r in spd if r["seed"] == s], [max(1, r["steps"]) for r in spd
                                                                       if r["seed"] == s]) for s in cfg.seeds]
        # per seed, keyed by seed: a two-number list would read as "mean ± sd" in the report
        measured.update({"slope by seed": {s: round(f["slope"], 3) for s, f in zip(cfg.seeds, slopes)},
                         "its stderr": {s: f["stderr"] for s, f in zip(cfg.seeds, slopes)},
                         f"steps (seed {cfg.seeds[0]})": {r["L"]: r["steps"] for r in spd if r["seed"] == cfg.seeds[0]}})
        ok = all(f["slope"] < cfg.max_slope for f in slopes)
    claims = [CLAIMS["spd"].judge(measured, ok)]
    neg = sel("negative")
    bound = 0.5 * cfg.negative_eigenvalue ** 2
    claims.append(CLAIMS["negative"].judge({"smallest loss": min(r["min_loss"] for r in neg), "½λ²": bound},
                                           all(r["min_loss"] >= bound * (1 - 1e-9) for r in neg)))
    bal, plain = sel("nonsymmetric (balanced)"), sel("nonsymmetric")
    claims.append(CLAIMS["nonsymmetric"].judge(
        {"balanced: converged": f"{sum(r['steps'] is not None for r in bal)} of {len(bal)}",
         "plain GD (no claim): converged": f"{sum(r['steps'] is not None for r in plain)} of {len(plain)}"},
        all(r["steps"] is not None for r in bal)))
    found = [p for p in points if p["critical"] and p["loss"] >= cfg.suboptimal_loss and p["eps_upper"] < 1
             and p["eps_lower"] >= cfg.nontrivial]
    best = max(found, key=lambda p: p["eps_lower"], default=None)
    measured = {"critical points": sum(p["critical"] for p in points), "searches": len(points),
                "suboptimal near-identity (non-trivial)": len(found)}
    if best is not None:
        measured.update({k: best[k] for k in ("loss", "grad_norm", "start_grad_norm", "eps_lower", "eps_upper",
                                              "teacher_eps_upper", "hessian_index", "functional_ratio",
                                              "functional_gradient_min")})
    if not any(p["critical"] for p in points):
        claims.append(CLAIMS["parametric"].not_evaluable(f"no search reached ‖∇θQ‖ ≤ {cfg.critical_tol}·start",
                                                         measured))
    else:
        claims.append(CLAIMS["parametric"].judge(measured, best is not None))
    figs = [save(deep_linear_figure(curves, rows, points, bound, cfg.eps), out / "figures" / "deep_linear.png")]
    captions = {"figures/deep_linear.png": "Left: loss ½‖Θ_L⋯Θ_1 − Φ‖²_F along gradient descent from the identity "
                                           f"(first seed; one line per L ∈ {list(cfg.depths)}) for the three targets "
                                           "(dotted: ½λ², the negative target's floor; dashed: ε). Middle: steps to "
                                           "ε against L (log–log). Right: the sigmoid residual net's critical-point "
                                           "searches — loss against max‖h_i − Id‖_L at the end (filled: critical)."}
    return synthetic_result(f"synthetic: targets Φ ({cfg.dim}×{cfg.dim}) and a sigmoid teacher from seeds "
                            f"{list(cfg.seeds)}", claims, rows + points, figs, out, captions=captions)


PRESET = Preset(name="bartlett2018-deep-linear",
                title="Bartlett, Helmbold & Long 2018 — identity-initialized gradient descent on deep linear residual "
                      "nets; Bartlett, Evans & Long's parametric critical points",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 0)  # no net is trained (GD on the products themselves)
