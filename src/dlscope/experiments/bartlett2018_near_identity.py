"""``bartlett2018-near-identity`` — Bartlett, Evans & Long, "Representing smooth functions as
compositions of near-identity functions with implications for deep network optimization",
arXiv:1804.05012, 2018 (the seed talk's "Representing with near-identities" and "Stationary points").

Representation (Thm 1): a smooth bi-Lipschitz h: ℝ^d → ℝ^d is exactly h_m ∘ ⋯ ∘ h_1 on a bounded
domain with ‖h_i − Id‖_L = O(log m / m). :func:`dlscope.theory.bel_composition` builds the layers of
the talk's construction h_i = g_{a_i} ∘ g_{a_{i−1}}^{-1}, g_a(x) = h(a x)/a, for three smooth maps of the
unit disc (a rotation by an angle that is a smooth radial bump, a smooth shear, a radial expansion),
m = 2 … 256, with the uniform schedule a_i = i/m (the claims) and the geometric one a_i = m^{-(m−i)/(m−1)}
(drawn for comparison), and estimates ‖h_i − Id‖_L from Jacobians over a dense sample of the disc.

Optimization (Thm 3): for the squared error Q and a composition with ‖h_i − Id‖_L ≤ ε < 1,
‖D_{h_i}Q(h)‖ ≥ (1 − ε)^{m−1}(Q(h) − Q(h*))/‖h − h*‖ for every i. Checked exactly
(:func:`dlscope.theory.gradient_lower_bound`) on each composition, as the current model of a
regression toward a linear teacher y = T x on a sample of the disc.

Scale: the default is the issue's grid (m up to 256) at float64 on one CPU core (minutes); denser samples:
``--set n_points=20000 --set n_pairs=200000 --set seeds=0,1,2,3``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from ..report.figures import save
from ..report.figures.bartlett2018_near_identity import gradient_figure, rate_figure
from ..theory import bel_composition, gradient_lower_bound
from ._depth import log_m_over_m_slope, loglog_fit, synthetic_result
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config
from .stats import mean_sd


def rotation_bump(x):
    """x ↦ R(θ(‖x‖²)) x with θ(r²) = 2 r² e^{−r²}: rotations by an angle that is a smooth radial bump."""
    r2 = (x ** 2).sum(1, keepdim=True)
    th = 2.0 * r2 * torch.exp(-r2)
    c, s = torch.cos(th), torch.sin(th)
    return torch.cat([c * x[:, :1] - s * x[:, 1:], s * x[:, :1] + c * x[:, 1:]], 1)


def shear(x):
    """(x₁ + 0.8 x₂², x₂) followed by (y₁, y₂ + 0.8 sin²y₁): two smooth shears, invertible on ℝ²."""
    y1 = x[:, 0] + 0.8 * x[:, 1] ** 2
    return torch.stack([y1, x[:, 1] + 0.8 * torch.sin(y1) ** 2], 1)


def radial(x):
    """x ↦ x (1 + ½‖x‖²): a smooth radial expansion."""
    return x * (1 + 0.5 * (x ** 2).sum(1, keepdim=True))


MAPS = {"rotation-bump": rotation_bump, "shear": shear, "radial": radial}
TEACHER = torch.tensor([[0.9, 0.3], [-0.2, 1.1]], dtype=torch.float64)  # the regression target y = T x


@dataclasses.dataclass(frozen=True)
class Config:
    # model: the maps and the depths
    maps: tuple[str, ...] = ("rotation-bump", "shear", "radial")  # keys of MAPS; each h(0) = 0, Dh(0) = I
    radius: float = 1.0                # the domain X: the disc of this radius
    ms: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 256)  # numbers of layers m (the grid)
    geometric: bool = True             # also build the geometric schedule (drawn, not claimed)
    # measurement
    n_points: int = 2000               # uniform sample of X for the Jacobian and chord estimates
    n_pairs: int = 20000               # random pairs for the chord estimate
    n_check: int = 200                 # points of X on which h_m ∘ ⋯ ∘ h_1 is compared with h
    n_regression: int = 200            # sample (x_j, T x_j) of the regression problem for Thm 3
    profile_m: int = 32                # m whose per-layer ‖h_i − Id‖_L profile is drawn
    # claim tolerances
    slope_low: float = -1.2            # the fitted slope of log max‖h_i − Id‖_L on log m must lie in
    slope_high: float = -0.8           # [slope_low, slope_high] (log m / m would fit −0.60 on 2 … 256)
    composition_tol: float = 1e-6      # max ‖h_m∘⋯∘h_1(x) − h(x)‖ over the check points
    seeds: tuple[int, ...] = (0, 1)    # samples of X and of the regression problem
    device: str = "cpu"                # unused: float64 on the CPU

    def __post_init__(self):
        check_config(self)
        bad = [m for m in self.maps if m not in MAPS]
        if bad:
            raise ValueError(f"maps must be among {', '.join(MAPS)} (got {bad})")
        if len(self.ms) < 3 or list(self.ms) != sorted(set(self.ms)) or self.ms[0] < 1 or self.radius <= 0:
            raise ValueError("ms: at least three increasing integers ≥ 1; radius > 0")
        if min(self.n_points, self.n_pairs, self.n_check, self.n_regression) < 2 or self.slope_low >= self.slope_high:
            raise ValueError("sample sizes must be ≥ 2 and slope_low < slope_high")


QUICK = dict(ms=(2, 4, 8, 16, 32, 64), n_points=500, n_pairs=2000, n_check=50, n_regression=50, profile_m=16,
             seeds=(0,))

CLAIMS = declare(
    rate=ClaimSpec("a smooth invertible map is a composition of m near-identities with ‖h_i − Id‖_L = O(log m / m): "
                   "with a_i = i/m the measured rate is 1/m", "Bartlett, Evans & Long 2018, Thm 1; seed talk",
                   "mean over seeds of the fitted slope of log max_i‖h_i − Id‖_L on log m in [slope_low, "
                   "slope_high], every map"),
    composition=ClaimSpec("the composition reproduces h on the domain: h_m ∘ ⋯ ∘ h_1 = h",
                          "Bartlett, Evans & Long 2018, Thm 1", "max error ≤ composition_tol, every map and m"),
    gradient=ClaimSpec("at a suboptimal composition of near-identities the functional gradient in every layer is "
                       "large: ‖D_{h_i}Q(h)‖ ≥ (1 − ε)^{m−1}(Q(h) − Q(h*))/‖h − h*‖",
                       "Bartlett, Evans & Long 2018, Thm 3; seed talk, 'Stationary points'",
                       "left side / right side ≥ 1 for every layer of every composition with ε < 1"),
)


def _regression(cfg: Config, seed: int):
    g = torch.Generator().manual_seed(50_000 + seed)
    u = torch.randn(cfg.n_regression, 2, generator=g, dtype=torch.float64)
    r = cfg.radius * torch.rand(cfg.n_regression, 1, generator=g, dtype=torch.float64).sqrt()
    x = r * u / u.norm(dim=1, keepdim=True)
    return x, x @ TEACHER.T


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    rows, profiles = [], {}
    kinds = ("uniform", "geometric") if cfg.geometric else ("uniform",)
    jobs = [(s, name, kind, m) for s in cfg.seeds for name in cfg.maps for kind in kinds for m in cfg.ms]
    for j, (seed, name, kind, m) in enumerate(jobs):
        if progress:
            progress("compositions", j, len(jobs))
        c = bel_composition(MAPS[name], m, dim=2, radius=cfg.radius, kind=kind, n_points=cfg.n_points,
                            n_pairs=cfg.n_pairs, n_check=cfg.n_check, seed=seed)
        row = {"seed": seed, "map": name, "schedule": kind, "m": m, "max_lipschitz": c.max_lipschitz,
               "max_jacobian": max(c.jacobian), "max_chord": max(c.chord), "composition_error": c.composition_error,
               "newton_residual": c.newton_residual, "gradient_ratio_min": None, "gradient_ratio_max": None}
        if kind == "uniform" and c.max_lipschitz < 1:
            x, y = _regression(cfg, seed)
            g = gradient_lower_bound(c.layers, x, y, eps=c.max_lipschitz)
            row.update(gradient_ratio_min=g.value, gradient_ratio_max=max(g.extra["ratios"]), rhs=g.extra["rhs"])
        rows.append(row)
        if m == cfg.profile_m and seed == cfg.seeds[0]:
            profiles[(name, kind)] = c.lipschitz
    return _report(cfg, rows, profiles, out)


def _report(cfg, rows, profiles, out: Path) -> dict:
    fits, per_map = [], {}
    for seed in cfg.seeds:
        for name in cfg.maps:
            for kind in ("uniform", "geometric"):
                sel = [r for r in rows if r["seed"] == seed and r["map"] == name and r["schedule"] == kind]
                if sel:
                    fit = loglog_fit([r["m"] for r in sel], [r["max_lipschitz"] for r in sel])
                    fits.append({"seed": seed, "map": name, "schedule": kind, "slope": fit["slope"],
                                 "slope_stderr": fit["stderr"], "r2": fit["r2"]})
    for name in cfg.maps:
        per_map[name] = {k: mean_sd(f["slope"] for f in fits if f["map"] == name and f["schedule"] == k)
                         for k in ("uniform", "geometric") if any(f["map"] == name and f["schedule"] == k for f in fits)}
    ok = all(cfg.slope_low <= v["uniform"][0] <= cfg.slope_high for v in per_map.values())
    claims = [CLAIMS["rate"].judge({"slope (mean ± sd over seeds)": per_map,
                                    "log m / m on the same grid": log_m_over_m_slope(cfg.ms)}, ok)]
    worst = max(r["composition_error"] for r in rows)
    claims.append(CLAIMS["composition"].judge({"largest error": worst, "largest Newton residual":
                                               max(r["newton_residual"] for r in rows)}, worst <= cfg.composition_tol))
    checked = [r for r in rows if r["gradient_ratio_min"] is not None]
    if checked:
        skipped = sorted({(r["map"], r["m"]) for r in rows if r["schedule"] == "uniform" and r["max_lipschitz"] >= 1})
        low = min(r["gradient_ratio_min"] for r in checked)
        claims.append(CLAIMS["gradient"].judge({"smallest ratio": low, "compositions checked": len(checked),
                                                "skipped (ε ≥ 1)": [f"{n} m={m}" for n, m in skipped]}, low >= 1))
    else:
        claims.append(CLAIMS["gradient"].not_evaluable("every composition had ε ≥ 1 (the theorem assumes ε < 1)"))
    figs = [save(rate_figure(rows, profiles, cfg.profile_m), out / "figures" / "near_identity_rate.png"),
            save(gradient_figure(rows), out / "figures" / "gradient_bound.png")]
    captions = {
        "figures/near_identity_rate.png": "Left: max_i ‖h_i − Id‖_L of the Bartlett–Evans–Long layers against the "
                                          "number of layers m (solid: a_i = i/m, dashed: geometric a_i), with C/m "
                                          "and C log m/m references. Middle: the per-layer profile at m = "
                                          f"{cfg.profile_m}. Right: max ‖h_m∘⋯∘h_1(x) − h(x)‖ (the composition "
                                          "check, through numerical inverses).",
        "figures/gradient_bound.png": "Thm 3 on each composition (uniform schedule, ε < 1): the smallest and largest "
                                      "ratio over layers of ‖D_{h_i}Q(h)‖ to (1 − ε)^{m−1}(Q(h) − Q(h*))/‖h − h*‖. "
                                      "The theorem says ≥ 1; its proof leaves a factor 2 (dotted)."}
    return synthetic_result(f"synthetic: maps of the disc of radius {cfg.radius:g}, samples from seeds "
                            f"{list(cfg.seeds)}", claims, rows + fits, figs, out, captions=captions)


PRESET = Preset(name="bartlett2018-near-identity",
                title="Bartlett, Evans & Long 2018 — smooth maps as compositions of near-identities; the "
                      "functional-gradient bound", Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 0)  # no net is trained
