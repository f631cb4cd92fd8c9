"""``sgd-near-identity`` — an open question of the seed talk ("Deep compositions of near-identities —
Questions: Do stochastic gradient methods produce near-identities?").

Bartlett, Evans & Long (2018) show that depth *allows* every layer of a smooth invertible map to be within
O(log m / m) of the identity, and that such compositions have no suboptimal stationary points in function
space; Hardt & Ma (2017) show the same for linear residual nets. Whether SGD *finds* such near-identities
is not known. Measured here: residual nets of increasing depth (dlscope's ``resnet``, m = 3n residual
blocks for depth 6n+2), without normalization (branches start at zero: the identity) and with BatchNorm,
trained by the same SGD recipe; then, for every block with an identity shortcut, ‖h_i − Id‖_L = Lip(F_i)
of its residual branch F_i (before the block's final ReLU) by :func:`dlscope.measure.identity_gap` — a
lower estimate (largest Jacobian norm at training inputs) and an upper bound (product of exact operator
norms, BatchNorm folded). The claim states what was found: the fitted log–log slope of max_i ‖h_i − Id‖_L
against m with its standard error (1/m would be −1, log m / m about −0.6 over this range). It may well
come out "not held": this is an open question, not a paper's finding.

Paper scale (a GPU): ``--set data=cifar10 --set depths=20,32,44,56,110 --set max_steps=64000 --set lr=0.1
--set schedule=multistep --set eval_every=2000 --set gap_points=500 --device cuda``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from ..measure import identity_gap
from ..report.figures import save
from ..report.figures.sgd_near_identity import gaps_figure
from ..train import TrainConfig
from ._depth import log_m_over_m_slope, loglog_fit
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_sd

NORMS = {"none": "nobn", "batch": "bn"}


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    # model
    depths: tuple[int, ...] = (8, 14, 20, 32, 44)  # ResNet 6n+2: m = 3n residual blocks (3n − 2 identity ones)
    norms: tuple[str, ...] = ("none", "batch")      # without normalization (starts at the identity) and with BN
    width: int = 1
    # SGD (the he2016-plain-vs-residual recipe, trained longer: to a near-fit of mnist1d)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 128
    schedule: str = "cosine"
    max_steps: int = 1500              # ≈ 48 epochs
    eval_every: int = 500
    # measurement
    gap_points: int = 200              # training inputs at which the Jacobians of the branches are taken
    gap_iters: int = 30                # power iterations per point (every iterate is a lower bound)
    # claim tolerances
    z: float = 2.0                     # "decreases": slope + z·se < 0
    min_train_acc: float = 0.9         # the control: every net fit at least this fraction of its training set
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if any((d - 2) % 6 or d < 8 for d in self.depths) or len(self.depths) < 3 \
                or list(self.depths) != sorted(set(self.depths)):
            raise ValueError("depths: at least three increasing values 6n+2 (8, 14, 20, 26, 32, 44, ...)")
        if any(n not in NORMS for n in self.norms):
            raise ValueError(f"norms must be among {list(NORMS)}")
        recipe(self, seed=self.seeds[0])


# BatchNorm nets fit mnist1d within 300 steps; the unnormalized ones (branches from zero) need the default budget
QUICK = dict(n_train=2000, depths=(8, 14, 20), norms=("batch",), max_steps=300, eval_every=150, gap_points=50,
             gap_iters=15, seeds=(0,))

CLAIMS = declare(**{
    f"decreases_{tag}": ClaimSpec(
        f"(open question) SGD produces near-identities that approach the identity as depth grows "
        f"({'without normalization' if norm == 'none' else 'with BatchNorm'}): max_i ‖h_i − Id‖_L decreases with the "
        "number m of blocks", "seed talk, 'Deep compositions of near-identities — Questions'; the rate Bartlett, Evans "
        "& Long 2018 show possible", "fitted log–log slope of max_i ‖h_i − Id‖_L (lower estimate) on m, + z·se < 0")
    for norm, tag in NORMS.items()},
    trained=ClaimSpec("every net fit most of the training set", "experiment check", "training accuracy ≥ min_train_acc",
                      control=True))


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, schedule=cfg.schedule, eval_every=cfg.eval_every, seed=seed,
                       device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    x = ds.x_train[: cfg.gap_points].to(cfg.device)
    rows, per_block = [], {}
    for norm in cfg.norms:
        for depth in cfg.depths:
            for seed in cfg.seeds:
                net, _, res = train_model(out, f"residual{depth}_{norm}_seed{seed}", ds, "resnet",
                                          {"depth": depth, "residual": True, "norm": norm, "width": cfg.width},
                                          recipe(cfg, seed=seed), progress)
                if progress:
                    progress(f"identity gaps ({norm}, depth {depth})", 0, 1)
                g = identity_gap(net, x, seed=seed, iters=cfg.gap_iters)
                blocks = [b for b in g.extra["blocks"] if b["identity_shortcut"]]
                m = 3 * (depth - 2) // 6
                rows.append({"norm": norm, "depth": depth, "blocks": m, "seed": seed,
                             "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"],
                             "max_lower": g.value, "max_lower_stderr": g.stderr, "max_upper": g.extra["upper"],
                             "mean_lower": float(np.mean([b["lower"] for b in blocks])),
                             "product_upper": g.extra["product_upper"], "diverged": res.diverged})
                per_block[(norm, depth, seed)] = [(b["name"], b["lower"], b["upper"]) for b in blocks]
    return _report(cfg, ds, rows, per_block, out)


def _report(cfg, ds, rows, per_block, out: Path) -> dict:
    claims = []
    for norm, tag in NORMS.items():
        sel = [r for r in rows if r["norm"] == norm]
        if not sel:
            claims.append(CLAIMS[f"decreases_{tag}"].not_evaluable(f"norm={norm!r} was not run"))
            continue
        if any(r["diverged"] for r in sel):
            claims.append(CLAIMS[f"decreases_{tag}"].not_evaluable("a run diverged"))
            continue
        lower = loglog_fit([r["blocks"] for r in sel], [r["max_lower"] for r in sel])
        upper = loglog_fit([r["blocks"] for r in sel], [r["max_upper"] for r in sel])
        measured = {"slope (lower estimate)": round(lower["slope"], 3), "se": round(lower["stderr"], 3),
                    "slope (upper bound)": round(upper["slope"], 3), "se (upper)": round(upper["stderr"], 3),
                    "max_i ‖h_i − Id‖_L by depth (lower, mean ± sd)": {
                        d: mean_sd(r["max_lower"] for r in sel if r["depth"] == d) for d in cfg.depths},
                    "reference slopes": {"1/m": -1.0, "log m / m": log_m_over_m_slope([r["blocks"] for r in sel])}}
        claims.append(CLAIMS[f"decreases_{tag}"].judge(measured, lower["slope"] + cfg.z * lower["stderr"] < 0))
    low = min(r["train_acc"] for r in rows)
    claims.append(CLAIMS["trained"].judge({"lowest training accuracy": round(low, 4)}, low >= cfg.min_train_acc))
    fig = save(gaps_figure(rows, per_block), out / "figures" / "identity_gaps.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/identity_gaps.png": "Left: max over blocks of ‖h_i − Id‖_L after SGD against the number m of residual "
                                     "blocks (filled: lower estimate from Jacobians at training inputs; open: upper "
                                     "bound, product of operator norms), with C/m and C log m/m references. Right: "
                                     "per-block lower estimates against the block's relative position, deepest net. "
                                     "An open question (seed talk): the claim reports what was measured."})



PRESET = Preset(name="sgd-near-identity",
                title="Does SGD produce near-identities? ‖h_i − Id‖_L of trained residual blocks against depth "
                      "(an open question)", Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.norms) * len(c.depths) * len(c.seeds))
