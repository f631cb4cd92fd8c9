"""``hardt2016-near-identity`` — Hardt & Ma, "Identity matters in deep learning", ICLR 2017
(arXiv:1611.04231, 2016), §2: products of near-identity matrices, and gradient descent on linear
residual networks (the seed talk's "Some intuition: linear functions").

Part 1 — representation: every A with det A > 0 is (I + A_m)⋯(I + A_1) with max‖A_i‖ = O(1/m)
(Thm 2.1: max‖A_i‖ ≤ (4π + 3γ)/m once m ≥ 3γ, γ = max_i |log σ_i(A)|).
:func:`dlscope.theory.near_identity_factorization` builds such factors for random Gaussian targets
(det > 0) and for rotations (angles up to ≈ π: the hardest case for small factors) at m = 1 … 256; the
claims are the fitted exponent of max‖A_i‖ against m over m ≥ 3γ (−1) and that m·max‖A_i‖ stays
bounded; the table also says whether every factor met Hardt & Ma's (4π + 3γ)/m.

Part 2 — optimization: on the linear Gaussian model y = A x + ξ (x ~ N(0, I)) the population risk of
the residual net is E‖(I + A_m)⋯(I + A_1)x − y‖² = ‖∏(I + A_i) − A‖²_F + dσ² (exact, no sampling).
Gradient descent from A_i = 0 on random targets A = exp(S) (det A = e^{tr S} > 0). Thm 2.2: inside
max‖A_i‖ < 1 every critical point is a global minimum, because the gradient dominates the excess risk
(‖∇f‖²_F ≥ 4m(1 − τ)^{2(m−1)}(f − f*) at max‖A_i‖ ≤ τ). Claims: every run that stays inside the
region reaches the optimum, and the inequality holds at every iterate inside it.

Scale: the default is already the issue's paper-scale grid (m up to 256, 20 targets per seed) and runs in
about a minute of one CPU core; float64 linear algebra gains nothing from a GPU. Larger:
``--set dim=10 --set gd_targets=100 --set depth=64 --set max_steps=20000``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

from ..report.figures import save
from ..report.figures.hardt2016 import factorization_figure, gd_figure
from ..theory import deep_linear_gd, factorization_summary
from ._depth import loglog_fit, synthetic_result
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config
from .stats import mean_sd


@dataclasses.dataclass(frozen=True)
class Config:
    # model: the targets
    dim: int = 6                       # d of the d×d targets (Hardt & Ma: any d)
    ms: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # numbers of factors m (the grid)
    n_random: int = 10                 # Gaussian targets per seed (a row negated when det < 0)
    rotation_angles: tuple[float, ...] = (1.0, 2.5, 3.1)  # rotations by θ in ⌊d/2⌋ random planes, radians
    depth: int = 16                    # layers m of the residual net trained by gradient descent
    gd_targets: int = 20               # targets A = exp(S) per seed (the issue: ≥ 20)
    target_scale: float = 1.0          # S has i.i.d. N(0, s²/d) entries
    # gradient descent (full batch on the exact population risk)
    lr: float = 0.5                    # η = lr / (depth · max(1, ‖A‖)²): stable for every target (measured)
    max_steps: int = 5000              # GD steps per run
    # claim tolerances
    slope_tol: float = 0.1             # fitted exponent of max‖A_i‖ against m within −1 ± this
    bounded_tol: float = 0.05          # m·max‖A_i‖ changes by less than this over the last doubling of m
    rel_tol: float = 1e-6              # (f − f*)/(f(0) − f*) at or below this = the global optimum
    seeds: tuple[int, ...] = (0, 1)    # draws of the targets
    device: str = "cpu"                # unused: float64 linear algebra on the CPU

    def __post_init__(self):
        check_config(self)
        if self.dim < 2 or any(m < 1 for m in self.ms) or len(self.ms) < 3 or list(self.ms) != sorted(set(self.ms)):
            raise ValueError("dim must be ≥ 2 and ms at least three increasing integers ≥ 1")
        if self.n_random < 1 or self.gd_targets < 1 or self.target_scale <= 0 or not 0 < self.rel_tol < 1:
            raise ValueError("n_random, gd_targets ≥ 1; target_scale > 0; rel_tol in (0, 1)")


QUICK = dict(dim=4, ms=(1, 2, 4, 8, 16, 32, 64), n_random=5, depth=8, max_steps=3000, seeds=(0,))

CLAIMS = declare(
    rate=ClaimSpec("every A with det A > 0 is (I + A_m)⋯(I + A_1) with max‖A_i‖ = O(1/m): the fitted exponent of "
                   "max‖A_i‖ against m is −1", "Hardt & Ma 2017, Thm 2.1; seed talk, 'Products of near-identity "
                   "matrices'", "slope over m ≥ 3γ within −1 ± slope_tol for every target (random and rotations)"),
    bounded=ClaimSpec("m·max‖A_i‖ stays bounded as m grows", "Hardt & Ma 2017, Thm 2.1",
                      "m·max‖A_i‖ changes by < bounded_tol over the last doubling of m, every target"),
    gd_global=ClaimSpec("gradient descent from A_i = 0 reaches the global optimum whenever its iterates stay in "
                        "max‖A_i‖ < 1 (no spurious critical points there)", "Hardt & Ma 2017, Thm 2.2",
                        "(f − f*)/(f(0) − f*) ≤ rel_tol for every run with max‖A_i‖ < 1 throughout"),
    gd_gradient=ClaimSpec("inside max‖A_i‖ ≤ τ < 1 the gradient dominates the excess risk: ‖∇f‖² ≥ "
                          "4m(1 − τ)^{2(m−1)}(f − f*)", "Hardt & Ma 2017, proof of Thm 2.2",
                          "measured ‖∇f‖² over the right side ≥ 1 at every recorded iterate inside the region"),
    product=ClaimSpec("the factors multiply back to A", "construction check", "‖∏(I + A_i) − A‖ ≤ 1e-10‖A‖",
                      control=True),
)


def _orthogonal(d, rng):
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def _factorization_targets(cfg: Config, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(cfg.n_random):
        A = rng.standard_normal((cfg.dim, cfg.dim))
        if np.linalg.det(A) < 0:
            A[0] = -A[0]
        out.append((f"gaussian {k}", "gaussian", A))
    for theta in cfg.rotation_angles:
        R = np.eye(cfg.dim)
        for p in range(0, cfg.dim - 1, 2):
            R[p:p + 2, p:p + 2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
        Q = _orthogonal(cfg.dim, rng)
        out.append((f"rotation {theta:g}", "rotation", Q @ R @ Q.T))
    return out


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    fact, curves, gd, trajectories = [], {}, [], {}
    for seed in cfg.seeds:
        targets = _factorization_targets(cfg, seed)
        for j, (name, kind, A) in enumerate(targets):
            if progress:
                progress(f"factorizations (seed {seed})", j, len(targets))
            rows = [factorization_summary(torch.as_tensor(A), m) for m in cfg.ms]
            gamma = rows[0]["gamma"]
            # Thm 2.1 is stated for m ≥ 3γ (before that the factors of P^{1/m} saturate near 1): fit there
            fitted = [(m, r["max_norm"]) for m, r in zip(cfg.ms, rows) if m >= 3 * gamma]
            fit = loglog_fit(*zip(*fitted)) if len(fitted) >= 3 else {"slope": None, "stderr": None}
            mm = [r["m_times_max_norm"] for r in rows]
            hm = [r["max_norm"] <= (4 * np.pi + 3 * gamma) / m for m, r in zip(cfg.ms, rows) if m >= 3 * gamma]
            fact.append({"part": "factorization", "seed": seed, "target": name, "kind": kind,
                         "slope": fit["slope"], "slope_stderr": fit["stderr"],
                         "fit_from_m": fitted[0][0] if fitted else None, "within_hardt_ma_bound": all(hm),
                         "m_max_norm_last": mm[-1],
                         "last_doubling_change": abs(mm[-1] / mm[-2] - 1), "theta_max": rows[0]["theta_max"],
                         "gamma": rows[0]["gamma"], "product_error": max(r["product_error"] for r in rows)})
            curves[(seed, name)] = (kind, [r["max_norm"] for r in rows])
        rng = np.random.default_rng(10_000 + seed)
        for t in range(cfg.gd_targets):
            if progress:
                progress(f"gradient descent (seed {seed})", t, cfg.gd_targets)
            A = scipy.linalg.expm(rng.standard_normal((cfg.dim, cfg.dim)) * cfg.target_scale / np.sqrt(cfg.dim))
            lr = cfg.lr / (cfg.depth * max(1.0, np.linalg.norm(A, 2)) ** 2)
            F0 = 0.5 * float(np.sum((np.eye(cfg.dim) - A) ** 2))
            r = deep_linear_gd(A, cfg.depth, lr=lr, max_steps=cfg.max_steps, tol=cfg.rel_tol * F0,
                               record_every=max(1, cfg.max_steps // 200))
            inside = [p for _, _, dev, p in r["trajectory"] if dev < 1 and np.isfinite(p)]
            later = [p for s, _, dev, p in r["trajectory"] if s > 0 and dev < 1 and np.isfinite(p)]  # at A_i = 0: = 1
            gd.append({"part": "gradient descent", "seed": seed, "target": t, "steps": r["steps"],
                       "relative_excess": r["final_loss"] / F0, "max_deviation": r["max_deviation"],
                       "stayed_inside": r["max_deviation"] < 1 and not r["diverged"],
                       "min_gradient_ratio": min(inside) if inside else None,
                       "min_gradient_ratio_after_start": min(later) if later else None, "lr": lr})
            trajectories[(seed, t)] = [(s, F / F0, dev) for s, F, dev, _ in r["trajectory"]]
    return _report(cfg, fact, curves, gd, trajectories, out)


def _report(cfg, fact, curves, gd, trajectories, out: Path) -> dict:
    lo, hi = -1 - cfg.slope_tol, -1 + cfg.slope_tol
    fitted = [r for r in fact if r["slope"] is not None]
    slopes = {k: [r["slope"] for r in fitted if r["kind"] == k] for k in ("gaussian", "rotation")}
    rate = {k: {"mean ± sd": mean_sd(v), "min": round(min(v), 4), "max": round(max(v), 4)}
            for k, v in slopes.items() if v}
    rate["targets fitted (m ≥ 3γ: three m or more)"] = f"{len(fitted)} of {len(fact)}"
    rate["max‖A_i‖ ≤ (4π + 3γ)/m wherever m ≥ 3γ"] = all(r["within_hardt_ma_bound"] for r in fact)
    claims = [CLAIMS["rate"].judge(rate, all(lo <= r["slope"] <= hi for r in fitted)) if fitted else
              CLAIMS["rate"].not_evaluable("no target has three m ≥ 3γ in the grid", rate),
              CLAIMS["bounded"].judge({"largest change over the last doubling": round(max(r["last_doubling_change"]
                                                                                         for r in fact), 5),
                                       "m·max‖A_i‖ at the largest m": mean_sd(r["m_max_norm_last"] for r in fact)},
                                      all(r["last_doubling_change"] < cfg.bounded_tol for r in fact))]
    inside = [r for r in gd if r["stayed_inside"]]
    measured = {"runs inside the region": f"{len(inside)} of {len(gd)}",
                "reached the optimum": sum(r["relative_excess"] <= cfg.rel_tol for r in inside),
                "largest relative excess inside": max((r["relative_excess"] for r in inside), default=None),
                "steps": mean_sd(r["steps"] for r in inside if r["steps"] is not None) if inside else None}
    if not inside:
        claims.append(CLAIMS["gd_global"].not_evaluable("no run stayed inside max‖A_i‖ < 1", measured))
        claims.append(CLAIMS["gd_gradient"].not_evaluable("no run stayed inside max‖A_i‖ < 1", measured))
    else:
        claims.append(CLAIMS["gd_global"].judge(measured, all(r["relative_excess"] <= cfg.rel_tol for r in inside)))
        ratios = [r["min_gradient_ratio"] for r in inside if r["min_gradient_ratio"] is not None]
        later = [r["min_gradient_ratio_after_start"] for r in inside if r["min_gradient_ratio_after_start"] is not None]
        claims.append(CLAIMS["gd_gradient"].judge({"smallest ratio": min(ratios), "smallest after step 0 (at A_i = 0 "
                                                   "it is exactly 1)": min(later, default=None)},
                                                  min(ratios) >= 1 - 1e-9))
    worst = max(r["product_error"] for r in fact)
    claims.append(CLAIMS["product"].judge({"largest product error": worst}, worst <= 1e-10))
    figs = [save(factorization_figure(list(cfg.ms), curves), out / "figures" / "factorization.png"),
            save(gd_figure(trajectories, gd, cfg.rel_tol), out / "figures" / "gradient_descent.png")]
    captions = {
        "figures/factorization.png": "Left: max‖A_i‖ of the near-identity factors of each target against the number "
                                     "m of factors (log–log; dotted: c/m). Right: m·max‖A_i‖, bounded as m grows; "
                                     "rotations by θ tend to θ (≈ π for the hardest), Gaussian targets to θ_max + γ.",
        "figures/gradient_descent.png": f"Gradient descent from A_i = 0 on the exact population risk of a depth-"
                                        f"{cfg.depth} linear residual net, {len(gd)} targets A = exp(S). Left: "
                                        "relative excess risk (dashed: rel_tol). Right: max‖A_i‖ along each run "
                                        "(dotted: 1, the edge of Hardt & Ma's region)."}
    return synthetic_result(f"synthetic: {cfg.dim}×{cfg.dim} targets from seeds {list(cfg.seeds)}", claims,
                            fact + gd, figs, out, captions=captions)


PRESET = Preset(name="hardt2016-near-identity",
                title="Hardt & Ma 2017 — near-identity factorizations and gradient descent on linear residual nets",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 0)  # no net is trained
