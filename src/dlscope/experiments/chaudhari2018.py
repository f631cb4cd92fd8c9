"""``chaudhari2018-sgd-noise`` — Chaudhari & Soatto, "Stochastic gradient descent performs variational
inference, converges to limit cycles for deep networks", ICLR 2018 (presented by the article of seed 003).

SGD is a diffusion with temperature β⁻¹ = η/(2B) and diffusion matrix D (the per-example gradient
covariance); its stationary distribution minimizes a potential Φ that equals the loss only when D is
isotropic, and for deep nets D is highly non-isotropic, its rank "as small as ~1 %" of its dimension,
so SGD is out of equilibrium: its late trajectories are not Brownian motion near critical points
(they report loops, found by Fourier analysis). Measured here, on mnist1d with plain SGD:

* Σ_B (= D (N − B)/(B(N − 1)), :func:`dlscope.measure.sgd_noise`, exact from per-example gradients of
  ``noise_examples`` training examples) at several points of training (snapshots): its effective rank
  (tr Σ)²/tr Σ² and rank to 90 % of the trace, as fractions of p and of the largest rank the sample
  allows, its anisotropy λ_max/(tr Σ/p) and the overlap of its top-k space with the Hessian's;
* the noise scale η·tr Σ̂_B measured from ``noise_batches`` sampled mini-batches of size B at the end of
  nets trained on an (η, B) grid to the same training loss ``grid_target_loss`` (so that they are
  compared at the same stage of training, not after the same time), regressed on η/B in log-log
  (slope 1 when the noise scale tracks the temperature);
* the late-phase trajectory (snapshots every ``snapshot_every`` steps over the last ``late_fraction`` of
  the main run): the mean-squared displacement MSD(τ) = ⟨‖θ(t+τ) − θ(t)‖²⟩ against the lag τ, fitted
  as MSD ∝ τ^α on the lags up to a quarter of the window. Brownian motion (isotropic or not) has
  α = 1; the claim reads α ≠ 1 as "not Brownian" — it does not by itself tell loops (Chaudhari & Soatto)
  from diffusion confined by the basin (an equilibrium Ornstein–Uhlenbeck process also has α < 1).
  Also reported: the anisotropy of the displacement covariance and MSD(k) against the Brownian
  prediction k·η²·tr Σ_B.

On MNIST: ``--set data=mnist width=16 noise_examples=3000`` (p = 13,002; the exact estimator keeps
N × p float64 gradients, 310 MB here, and needs N − 1 ≥ min_rank_room · p for the rank claim).
"""
from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..measure import sgd_noise
from ..report.figures import save
from ..report.figures.chaudhari2018 import noise_figure
from ..train import TrainConfig, read_snapshots
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # dataset (mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None
    n_train: Optional[int] = None     # stratified training subset (None: all)
    n_test: Optional[int] = None
    # model
    model: str = "mlp"
    width: int = 64
    depth: int = 2
    # SGD (plain SGD: the diffusion picture has no momentum)
    lr: float = 0.05
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 64
    max_steps: int = 4000             # the main runs (the trajectory and the D measurements)
    eval_every: int = 200
    snapshot_every: int = 10          # θ_t kept every this many steps (the late-phase trajectory)
    # measurement
    noise_examples: int = 2000        # training examples whose per-example gradients define D
    noise_at: tuple[float, ...] = (0.05, 0.25, 1.0)  # fractions of max_steps at which Σ_B is measured
    k: int = 10                       # top eigenpairs (of Σ_B and of the Hessian, for the alignment)
    grid_lrs: tuple[float, ...] = (0.02, 0.05, 0.1)   # the (η, B) grid: every η with batch_size, and …
    grid_batches: tuple[int, ...] = (16, 256)         # … every B with lr
    grid_target_loss: float = 1.0     # every grid net trained to this training cross-entropy …
    grid_epochs: float = 300.0        # … within this budget (100 left B = 256, η = 0.05 at loss 1.17)
    noise_batches: int = 200          # sampled mini-batches for η·tr Σ̂_B at the end of each grid net
    late_fraction: float = 0.25       # the late phase: the last quarter of the main run's snapshots
    # claim tolerances
    max_rank_fraction: float = 0.05   # effective rank below this fraction of p (the paper: ~1 %)
    min_rank_room: float = 0.2        # not evaluable when N − 1 < this fraction of p (the sample would bound the rank)
    min_anisotropy: float = 100.0     # λ_max / mean eigenvalue above this (isotropic: 1)
    slope_tol: float = 0.25           # log-log slope of the noise scale on η/B within 1 ± this
    msd_tol: float = 0.2              # |α − 1| above this (and 2 se) reads as not Brownian
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if not all(0 < f <= 1 for f in self.noise_at) or not 0 < self.late_fraction < 1:
            raise ValueError("noise_at must lie in (0, 1] and late_fraction in (0, 1)")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, n_test=500, width=32, max_steps=1200, noise_examples=600, noise_at=(0.1, 1.0),
             grid_lrs=(0.02, 0.1), grid_batches=(256,), grid_target_loss=2.0, grid_epochs=40.0, noise_batches=100, k=5)

CLAIMS = declare(
    low_rank=ClaimSpec("the gradient-noise covariance D has a low rank: its effective rank is a small fraction of its "
                       "dimension (\"as small as ~1 %\")", "Chaudhari & Soatto 2018, abstract, §4 and Fig. 1",
                       "mean over seeds and measurement points of r_eff / p < max_rank_fraction (not evaluable "
                       "when N − 1 < min_rank_room · p)"),
    anisotropic=ClaimSpec("D is highly non-isotropic", "Chaudhari & Soatto 2018, §4 and Fig. 1",
                          "mean over seeds and points of λ_max / (tr Σ / p) > min_anisotropy"),
    temperature=ClaimSpec("the noise of SGD is set by the temperature η/(2B): the measured noise scale η·tr Σ_B tracks "
                          "η/B across an (η, B) grid", "Chaudhari & Soatto 2018, §2 (eq. 5); Jastrzębski et al. 2017",
                          "nets trained to grid_target_loss; mean over seeds of the log-log slope of η·tr Σ̂_B on "
                          "η/B within 1 ± slope_tol"),
    non_equilibrium=ClaimSpec("late in training SGD does not behave like Brownian motion: its mean-squared "
                              "displacement does not grow linearly with the lag",
                              "Chaudhari & Soatto 2018, abstract and §5 (trajectories are not Brownian near "
                              "critical points)",
                              "|mean over seeds of the MSD exponent α − 1| > max(msd_tol, 2 se)"),
)


def recipe(cfg: Config, *, seed: int, lr: Optional[float] = None, batch_size: Optional[int] = None,
           **_) -> TrainConfig:
    """The main run (snapshots) or, with ``lr``/``batch_size``, a grid net (an epoch budget)."""
    if lr is None and batch_size is None:
        return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay, eval_every=cfg.eval_every,
                           snapshot_every=cfg.snapshot_every, seed=seed, device=cfg.device)
    return TrainConfig(max_epochs=cfg.grid_epochs, batch_size=batch_size or cfg.batch_size, lr=lr or cfg.lr,
                       momentum=cfg.momentum, weight_decay=cfg.weight_decay, eval_every_epochs=1.0,
                       target_train_loss=cfg.grid_target_loss, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    mkw = {"widths": (cfg.width,) * cfg.depth}
    n = min(cfg.noise_examples, ds.n_train)
    sub = (ds.x_train[:n].to(cfg.device), ds.y_train[:n].to(cfg.device))
    points, msd, grid = [], [], []
    for seed in cfg.seeds:
        net, _, res = train_model(out, f"sgd_seed{seed}", ds, "mlp", mkw, recipe(cfg, seed=seed), progress)
        snaps = read_snapshots(res.run_dir)
        steps = [s for s, _ in snaps]
        for f in cfg.noise_at:
            step = min(steps, key=lambda s: abs(s - f * res.steps))
            if progress:
                progress(f"noise covariance at step {step} (seed {seed})", 0, 1)
            model = copy.deepcopy(net)
            model.load_state_dict(dict(snaps)[step])
            r = sgd_noise(model, F.cross_entropy, sub, batch_size=cfg.batch_size, k=cfg.k, lr=cfg.lr, seed=seed)
            points.append({"seed": seed, "step": step, "trace": r.value, "trace_se": r.stderr, **{
                key: r.extra[key] for key in ("effective_rank", "rank_90", "max_rank", "num_params",
                                              "effective_rank_fraction", "effective_rank_fraction_of_max",
                                              "rank_90_fraction", "anisotropy", "alignment", "alignment_random")},
                           "lambda_max": r.extra["top_eigenvalues"][0], "spectrum": r.extra["spectrum_head"]})
        msd.append({"seed": seed, **_displacements(snaps, cfg.late_fraction),
                    "brownian_step_msd": cfg.snapshot_every * cfg.lr ** 2 * points[-1]["trace"]})
        for lr, b in [(lr, cfg.batch_size) for lr in cfg.grid_lrs] + [(cfg.lr, b) for b in cfg.grid_batches]:
            gnet, _, gres = train_model(out, f"grid_lr{lr:g}_b{b}_seed{seed}", ds, "mlp", mkw,
                                        recipe(cfg, seed=seed, lr=lr, batch_size=b), progress)
            r = sgd_noise(gnet, F.cross_entropy, (ds.x_train.to(cfg.device), ds.y_train.to(cfg.device)),
                          batch_size=b, num_batches=cfg.noise_batches, seed=seed, k=1, lr=lr, align=False)
            grid.append({"seed": seed, "lr": lr, "batch": b, "lr_over_b": lr / b, "trace": r.value,
                         "trace_se": r.stderr, "noise_scale": lr * r.value, "final_train_loss": gres.final["train_loss"],
                         "reached_target": gres.steps_to_fit is not None, "diverged": gres.diverged})
    return _report(cfg, ds, points, msd, grid, out)


def _displacements(snaps, late_fraction: float) -> dict:
    """MSD(τ) over the late-phase snapshots, its log-log slope α, and the displacement anisotropy."""
    late = snaps[int(len(snaps) * (1 - late_fraction)):]
    X = torch.stack([torch.cat([v.reshape(-1).double() for v in sd.values()]) for _, sd in late])
    k = late[1][0] - late[0][0]
    lags = list(range(1, max(2, len(late) // 4) + 1))
    msd = [float(((X[j:] - X[:-j]) ** 2).sum(1).mean()) for j in lags]
    alpha = float(np.polyfit(np.log(lags), np.log(msd), 1)[0])
    D = X[1:] - X[:-1]
    D = D - D.mean(0)
    lam = torch.linalg.eigvalsh(D @ D.T).clamp_min(0)
    reff = float(lam.sum() ** 2 / (lam ** 2).sum())
    return {"lags": [j * k for j in lags], "msd": msd, "alpha": alpha, "late_snapshots": len(late),
            "displacement_effective_rank": reff, "displacement_rank_fraction": reff / (len(late) - 2)}


def _report(cfg, ds, points, msd, grid, out: Path) -> dict:
    claims = []
    two = len(cfg.seeds) >= 2

    def stat(values):
        m, se = mean_se(values)
        return {"mean": round(m, 5), "se": None if se is None else round(se, 5)}

    frac = stat([p["effective_rank_fraction"] for p in points])
    p_, max_rank = points[0]["num_params"], points[0]["max_rank"]
    measured = {"r_eff / p": frac, "r_eff / max rank": stat([p["effective_rank_fraction_of_max"] for p in points]),
                "r_90 / p": stat([p["rank_90_fraction"] for p in points]), "r_eff": stat([p["effective_rank"] for p in points]),
                "p": p_, "max rank min(p, N − 1)": max_rank}
    if not two or max_rank < cfg.min_rank_room * p_:
        claims.append(CLAIMS["low_rank"].not_evaluable(f"needs ≥ 2 seeds and N − 1 ≥ {cfg.min_rank_room:g}·p (here "
                                                       f"{max_rank} vs p = {p_}): fewer examples bound the rank", measured))
    else:
        claims.append(CLAIMS["low_rank"].judge(measured, frac["mean"] < cfg.max_rank_fraction))
    an = stat([p["anisotropy"] for p in points])
    measured = {"λ_max / mean λ": an, "alignment with the Hessian (top k)": stat([p["alignment"] for p in points]),
                "random alignment k/p": round(points[0]["alignment_random"], 6)}
    claims.append(CLAIMS["anisotropic"].judge(measured, an["mean"] > cfg.min_anisotropy) if two else
                  CLAIMS["anisotropic"].not_evaluable("needs ≥ 2 seeds", measured))
    slopes = []
    for seed in cfg.seeds:
        g = [r for r in grid if r["seed"] == seed and not r["diverged"]]
        if len({r["lr_over_b"] for r in g}) >= 2:
            slopes.append(float(np.polyfit(np.log([r["lr_over_b"] for r in g]), np.log([r["noise_scale"] for r in g]), 1)[0]))
    sl = stat(slopes) if slopes else {"mean": None, "se": None}
    measured = {"slope": sl, "per seed": [round(s, 4) for s in slopes]}
    if len(slopes) < 2 or any(r["diverged"] or not r["reached_target"] for r in grid):
        claims.append(CLAIMS["temperature"].not_evaluable("needs ≥ 2 seeds with ≥ 2 distinct η/B, every grid net at "
                                                          "grid_target_loss and none diverged", measured))
    else:
        claims.append(CLAIMS["temperature"].judge(measured, abs(sl["mean"] - 1) <= cfg.slope_tol))
    al = stat([m["alpha"] for m in msd])
    measured = {"MSD exponent α": al, "displacement r_eff / max": stat([m["displacement_rank_fraction"] for m in msd]),
                "MSD(k) / (k η² tr Σ_B)": stat([m["msd"][0] / m["brownian_step_msd"] for m in msd])}
    if not two:
        claims.append(CLAIMS["non_equilibrium"].not_evaluable("needs ≥ 2 seeds", measured))
    else:
        claims.append(CLAIMS["non_equilibrium"].judge(measured, abs(al["mean"] - 1) > max(cfg.msd_tol, 2 * (al["se"] or 0))))
    spectra = [p for p in points if p["seed"] == cfg.seeds[0]]
    fig = save(noise_figure([{"step": p["step"], "spectrum": p["spectrum"], "effective_rank": p["effective_rank"],
                              "trace": p["trace"]}
                             for p in spectra], grid, msd, points[0]["num_params"]), out / "figures" / "sgd_noise.png")
    table = ([{"kind": "noise", **{k: v for k, v in p.items() if k != "spectrum"}} for p in points]
             + [{"kind": "grid", **g} for g in grid]
             + [{"kind": "trajectory", "seed": m["seed"], "alpha": m["alpha"], "late_snapshots": m["late_snapshots"],
                 "displacement_rank_fraction": m["displacement_rank_fraction"]} for m in msd])
    return preset_result(ds, claims, table, [fig], out, msd=msd, captions={
        "figures/sgd_noise.png": "(a) The fraction of the trace of the mini-batch noise covariance Σ_B carried by its "
                                 "top r eigenvalues at the measurement points (seed 0; exact, from per-example "
                                 "gradients), p dotted. (b) The noise scale "
                                 "η·tr Σ̂_B measured from sampled mini-batches at the end of each grid net, against η/B. "
                                 "(c) Late-phase mean-squared displacement against the lag, with the linear growth of "
                                 "Brownian motion dotted."})


PRESET = Preset(name="chaudhari2018-sgd-noise",
                title="Chaudhari & Soatto 2018 — SGD's noise is low-rank and anisotropic, its scale η/B, its late "
                      "trajectory not Brownian",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * (1 + len(c.grid_lrs) + len(c.grid_batches)))
