"""``cohen2021-edge-of-stability`` — Cohen, Kaur, Li, Kolter & Talwalkar, "Gradient descent on neural
networks typically occurs at the edge of stability", ICLR 2021.

Their canonical setting (Fig. 1; code github.com/locuslab/edge-of-stability): ``fc-tanh`` — a
fully-connected tanh net with two hidden layers of 200 units — trained by full-batch gradient descent
(no momentum) with the square loss on the first 5,000 CIFAR-10 images, for several step sizes η; the
sharpness λ_max of the training-loss Hessian rises (progressive sharpening) until it reaches 2/η and
then hovers just above it while the loss keeps falling, non-monotonically. Here: the same net and
optimizer on a stratified mnist1d subset (``--set data=cifar10 n_train=5000`` for the paper's data).

Units. Cohen et al.'s square loss is ½‖f(x) − e_y‖² averaged over examples; dlscope's ``mse`` also
averages over the C = 10 outputs, so L_dlscope = (2/C) L_Cohen, and gradient descent on L_dlscope
with step η is gradient descent on L_Cohen with step 2η/C: a dlscope η is 5 × Cohen's (their
example step 0.01 is 0.05 here). λ_max is measured on the loss GD runs on, so the threshold is 2/η
in either unit.

λ_max: Lanczos on the full-batch Hessian (:func:`dlscope.measure.top_eigenvalues`, relative tolerance
``lanczos_tol``) at θ₀ and every ``eval_every`` steps. Late phase: the evaluation points in the last
``late_fraction`` of the steps — by then every run here has reached 2/η (the control "reached"
checks it). Claim per η: the mean over seeds of the late-phase mean of λ_max/(2/η) lies within
1 ± band.

Paper scale: ``--set data=cifar10 n_train=5000 lrs=0.2,0.1,0.05 max_steps=10000 --device cuda`` (the
first three are Cohen et al.'s 0.04, 0.02, 0.01 in their units; their Fig. 1 step sizes were not
checked beyond the repository's example, 0.01).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from ..measure import hessian, top_eigenvalues
from ..report.figures import save
from ..report.figures.cohen2021 import eos_figure
from ..train import TrainConfig, evaluate, loss_function
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # Cohen et al.: cifar10 (--set data=cifar10 n_train=5000)
    data_root: Optional[str] = None
    n_train: Optional[int] = 1000     # training examples: GD's full batch (Cohen et al.: the first 5,000)
    n_test: Optional[int] = 500
    # model (Cohen et al.'s fc-tanh)
    model: str = "mlp"
    widths: tuple[int, ...] = (200, 200)
    activation: str = "tanh"
    # GD: full batch, no momentum, square loss
    lrs: tuple[float, ...] = (1.0, 0.67, 0.4)  # step sizes η in dlscope's mse units (5 × Cohen's; 2/η = 2, 3, 5)
    momentum: float = 0.0
    weight_decay: float = 0.0
    max_steps: int = 2000
    eval_every: int = 50              # λ_max measured every this many steps (Cohen et al.: 50–100)
    # measurement
    lanczos_tol: float = 1e-3         # relative accuracy of λ_max
    late_fraction: float = 0.25       # the late phase: evaluation points in the last quarter of the steps
    # claim tolerances
    band: float = 0.1                 # late-phase λ_max within (1 ± band) · 2/η (the issue's ±10 %)
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.model != "mlp":
            raise ValueError("cohen2021-edge-of-stability trains Cohen et al.'s fc-tanh MLP; size it with widths=")
        if not 0 < self.late_fraction <= 1 or not 0 < self.band < 1:
            raise ValueError("late_fraction must lie in (0, 1] and band in (0, 1)")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=500, n_test=200, lrs=(1.0, 0.67), max_steps=1000, eval_every=50)

CLAIMS = declare(
    edge=ClaimSpec("after progressive sharpening, the sharpness λ_max of full-batch GD hovers at 2/η (the edge of "
                   "stability) for every step size η",
                   "Cohen et al. 2021, Fig. 1 (fc-tanh, square loss)",
                   "for each η: mean over seeds of the late-phase mean λ_max / (2/η) within 1 ± band"),
    reached=ClaimSpec("every run starts below 2/η and reaches (1 − band)·2/η before the late phase",
                      "experimental control (progressive sharpening happened within the budget)",
                      "λ_max(θ₀) < 2/η and max λ_max before the late phase ≥ (1 − band)·2/η", control=True),
    loss_fell=ClaimSpec("the training loss fell over the run", "experimental control", "final < initial, every run",
                        control=True),
)


def recipe(cfg: Config, *, seed: int, lr: Optional[float] = None, n_train: Optional[int] = None, **_) -> TrainConfig:
    """Full-batch GD at step ``lr`` (default the first of ``lrs``): the batch is the whole training set
    (``n_train``: the loaded set's size; default the Config's, or mnist1d's 4000)."""
    return TrainConfig(max_steps=cfg.max_steps, batch_size=n_train or cfg.n_train or 4000, lr=lr or cfg.lrs[0],
                       momentum=cfg.momentum, weight_decay=cfg.weight_decay, loss="mse", eval_every=cfg.eval_every,
                       seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    loss = loss_function("mse", ds.num_classes)
    train = (ds.x_train.to(cfg.device), ds.y_train.to(cfg.device))

    def sharpness(net, _ds=None):
        return top_eigenvalues(hessian(net, loss, train), k=1, tol=cfg.lanczos_tol, seed=0).value[0]

    curves = []
    for lr in cfg.lrs:
        for seed in cfg.seeds:
            net, init, res = train_model(out, f"gd_lr{lr:g}_seed{seed}", ds, "mlp",
                                         {"widths": tuple(cfg.widths), "activation": cfg.activation},
                                         recipe(cfg, seed=seed, lr=lr, n_train=ds.n_train), progress,
                                         probes={"lambda_max": sharpness})
            l0 = evaluate(init, *train, loss)[0]
            curves.append({"lr": lr, "seed": seed, "steps": [0] + [m["step"] for m in res.metrics],
                           "train_loss": [l0] + [m["train_loss"] for m in res.metrics],
                           "lambda_max": [sharpness(init)] + [m["lambda_max"] for m in res.metrics],
                           "diverged": res.diverged})
    return _report(cfg, ds, curves, out)


def _report(cfg, ds, curves, out: Path) -> dict:
    late_start = cfg.max_steps - cfg.late_fraction * cfg.max_steps
    rows = []
    for c in curves:
        thr = 2 / c["lr"]
        late = [lam / thr for s, lam in zip(c["steps"], c["lambda_max"]) if s >= late_start]
        before = [lam for s, lam in zip(c["steps"], c["lambda_max"]) if 0 < s < late_start]
        rises = sum(b > a for a, b in zip(c["train_loss"][1:], c["train_loss"][2:]))
        rows.append({"lr": c["lr"], "seed": c["seed"], "threshold 2/η": round(thr, 4),
                     "lambda_max at init": round(c["lambda_max"][0], 4),
                     "first step ≥ (1−band)·2/η": next((s for s, lam in zip(c["steps"], c["lambda_max"])
                                                         if lam >= (1 - cfg.band) * thr), None),
                     "late ratio λ/(2/η)": round(sum(late) / len(late), 4) if late else None,
                     "late points": len(late), "loss rises between eval points": rises,
                     "initial loss": round(c["train_loss"][0], 5), "final loss": round(c["train_loss"][-1], 5),
                     "reached": c["lambda_max"][0] < thr and max(before, default=0.0) >= (1 - cfg.band) * thr,
                     "diverged": c["diverged"]})
    per_lr, ok = {}, True
    for lr in cfg.lrs:
        m, se = mean_se([r["late ratio λ/(2/η)"] for r in rows if r["lr"] == lr and r["late ratio λ/(2/η)"] is not None]
                        or [float("nan")])
        per_lr[f"η={lr:g}"] = {"mean ratio": round(m, 4), "se": None if se is None else round(se, 4)}
        ok = ok and abs(m - 1) <= cfg.band
    bad = [r for r in rows if r["diverged"] or r["late ratio λ/(2/η)"] is None]
    if len(cfg.seeds) < 2 or bad:
        claims = [CLAIMS["edge"].not_evaluable("needs ≥ 2 seeds, no diverged run and late-phase points", per_lr)]
    else:
        claims = [CLAIMS["edge"].judge(per_lr, ok)]
    claims.append(CLAIMS["reached"].judge({f"η={r['lr']:g} seed {r['seed']}": r["first step ≥ (1−band)·2/η"]
                                           for r in rows}, all(r["reached"] for r in rows)))
    claims.append(CLAIMS["loss_fell"].judge({f"η={r['lr']:g} seed {r['seed']}": r["final loss"] for r in rows},
                                            all(r["final loss"] < r["initial loss"] for r in rows)))
    fig = save(eos_figure(curves, late_start), out / "figures" / "edge_of_stability.png")
    return preset_result(ds, claims, rows, [fig], out, curves=curves, captions={
        "figures/edge_of_stability.png": "Full-batch gradient descent on the fc-tanh net (square loss), one colour per "
                                         "step size η: training loss (top) and the sharpness λ_max (bottom, Lanczos) "
                                         "with 2/η dashed. The shaded late phase is what the claim averages."})


PRESET = Preset(name="cohen2021-edge-of-stability",
                title="Cohen et al. 2021 — full-batch GD trains at the edge of stability: λ_max hovers at 2/η",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.lrs) * len(c.seeds))
