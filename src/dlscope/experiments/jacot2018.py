"""``jacot2018-ntk-width`` — Jacot, Gabriel & Hongler, "Neural tangent kernel: convergence and
generalization in neural networks", NeurIPS 2018; Lee, Xiao, Schoenholz, Bahri, Novak,
Sohl-Dickstein & Pennington, "Wide neural networks of any depth evolve as linear models under
gradient descent", NeurIPS 2019.

Two- and three-layer ReLU nets in NTK parameterization (``models.build("ntk-mlp")``, centered
so that f(x; θ0) = 0 and the infinite-width prediction is deterministic) of growing width m are
trained by full-batch gradient descent on the squared loss. The task: mnist1d, digits 0–4 against
5–9 (two one-hot outputs), every input rescaled onto the sphere of radius √d (d = 40), so that
x·x/d = 1 and the closed-form kernel is a function of the angle only. Measured per net:

(a) the empirical NTK at initialization on ``probe_points`` training inputs against the closed
    form C·Θ_∞ (``measure.relu_ntk``): relative Frobenius error, expected ∝ m^(−1/2) (a mean of m
    independent terms per entry; Jacot et al. Theorem 1);
(b) the kernel distance (Fort et al. 2020) between the NTK at initialization and after training,
    expected to fall with m (Jacot et al. Theorem 2: the kernel is frozen in the limit);
(c) the test predictions of the trained net against (i) its linearization (``measure.linearized``)
    trained by the same steps and (ii) gradient-descent kernel regression with Θ_∞
    (``measure.kernel_regression``, same rate and steps), relative ℓ2 deviations expected to
    fall with m (Lee et al. 2019, Theorem 2.1: the gap is O(m^(−1/2))).

Every slope is a least-squares fit of log(value) against log(m) per seed; claims use the mean
over seeds and its standard error. On a CPU the three-layer nets stop at ``max_width_deep``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..measure import kernel_distance, kernel_regression, linearized, ntk, relu_ntk
from ..report.figures import save
from ..report.figures.jacot2018 import predictions_figure, width_figure
from ..train import TrainConfig, fit
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # binary: digits 0–4 vs 5–9; inputs rescaled to ‖x‖ = √d
    data_root: Optional[str] = None
    n_train: Optional[int] = 256       # a small training set: the kernel regression is solved exactly
    n_test: Optional[int] = 256
    # model: ntk-mlp, centered, α = 1
    depths: tuple[int, ...] = (1, 2)   # hidden layers: 1 = two-layer net, 2 = three-layer net
    widths: tuple[int, ...] = (64, 256, 1024, 4096, 8192)  # m; Jacot et al. Fig. 1 use 500 and 10⁴
    max_width_deep: int = 1024         # three-layer nets stop here on a CPU (8192² weights per layer)
    # SGD: full-batch gradient descent on the squared loss
    lr: float = 1.0                    # η; the function-space rate is 2η/(n·C) per kernel eigenvalue
    momentum: float = 0.0              # plain gradient descent: the closed form of (c) assumes it
    weight_decay: float = 0.0
    batch_size: int = 256              # = n_train: full batch
    max_steps: int = 400               # GD steps T
    eval_every: int = 100
    # measurement
    probe_points: int = 64             # training inputs on which the NTK is measured
    ntk_budget_mb: int = 1024          # memory budget of each blocked NTK computation
    # claim tolerances
    slope_tol: float = 0.15            # (a) holds when |mean slope + ½| ≤ this
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.batch_size < (self.n_train or 4000):
            raise ValueError("batch_size must be at least n_train: (c) compares with full-batch gradient descent")
        if self.probe_points > (self.n_train or 4000):
            raise ValueError("probe_points must not exceed n_train")
        if len(self.widths) < 2:
            raise ValueError("widths needs at least two values to fit a slope")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=128, n_test=128, batch_size=128, widths=(64, 256, 1024), max_width_deep=256, max_steps=200,
             eval_every=100, probe_points=32, seeds=(0, 1))

CLAIMS = declare(
    ntk_converges=ClaimSpec("the empirical NTK at initialization converges to the closed-form infinite-width NTK, "
                            "with relative error ∝ width^(−1/2)",
                            "Jacot et al. 2018, Theorem 1 and Fig. 1; the recursion of Arora et al. 2019",
                            "per depth: |mean slope + ½| ≤ slope_tol and slope < 0 beyond 2 se"),
    kernel_frozen=ClaimSpec("the NTK moves less during training the wider the net",
                            "Jacot et al. 2018, Theorem 2 and Fig. 1; Lee et al. 2019",
                            "per depth: mean slope of the kernel distance (init → trained) vs width < 0 beyond 2 se"),
    net_is_linear=ClaimSpec("the trained net's test predictions approach those of its linearization as width grows",
                            "Lee et al. 2019, Theorem 2.1",
                            "per depth: mean slope of ‖f_net − f_lin‖/‖f_net‖ vs width < 0 beyond 2 se"),
    net_is_kernel=ClaimSpec("the trained net's test predictions approach gradient-descent kernel regression with "
                            "the infinite-width NTK as width grows",
                            "Jacot et al. 2018, §5; Lee et al. 2019",
                            "per depth: mean slope of ‖f_net − f_kernel‖/‖f_kernel‖ vs width < 0 beyond 2 se"),
    trained=ClaimSpec("every net and every linearization trained without diverging and lowered its training loss",
                      "experimental control", "final training loss < half the initial 1/C", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, loss="mse", eval_every=cfg.eval_every, seed=seed,
                       device=cfg.device)


def binary_sphere(ds):
    """mnist1d as the binary task 0–4 vs 5–9, inputs rescaled to the sphere ‖x‖ = √d."""
    def sphere(x):
        return x / x.flatten(1).norm(dim=1).reshape(-1, *[1] * (x.dim() - 1)) * x[0].numel() ** 0.5
    return ds.replace(x_train=sphere(ds.x_train), x_test=sphere(ds.x_test), y_train=(ds.y_train >= 5).long(),
                      y_test=(ds.y_test >= 5).long(), num_classes=2,
                      meta={**ds.meta, "task": "digits 0-4 vs 5-9", "inputs": "on the sphere of radius sqrt(d)"})


def _rel(a, b) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = binary_sphere(load_dataset(cfg))
    C, n, budget = ds.num_classes, ds.n_train, cfg.ntk_budget_mb * 2 ** 20
    probe, xte = ds.x_train[:cfg.probe_points], ds.x_test
    onehot = F.one_hot(ds.y_train, C).double()
    rate = 2 * cfg.lr / (n * C)  # d/dθ of mean_{i,c} (f − y)² is (2/(nC)) Jᵀ(f − y)
    rows, preds = [], {}
    for depth in cfg.depths:
        k_inf = C * relu_ntk(probe, depth=depth).value
        f_ker = kernel_regression(relu_ntk(ds.x_train, depth=depth), relu_ntk(xte, ds.x_train, depth=depth), onehot,
                                  rate=rate, steps=cfg.max_steps).value
        for width in [w for w in cfg.widths if depth == 1 or w <= cfg.max_width_deep]:
            for seed in cfg.seeds:
                name = f"depth{depth}_width{width}_seed{seed}"
                net, init, res = train_model(out, name, ds, "ntk-mlp", {"width": width, "depth": depth, "center": True},
                                             recipe(cfg, seed=seed), progress)
                k0, k1 = ntk(init, probe, memory_budget=budget).value, ntk(net, probe, memory_budget=budget).value
                lin = linearized(init)
                lres = fit(lin, ds, recipe(cfg, seed=seed), run_dir=out / "runs" / f"{name}_linearized",
                           extra_config={"model_build": {"name": "linearized ntk-mlp", "width": width, "depth": depth}})
                with torch.no_grad():
                    f_net, f_lin = net.eval()(xte).double(), lin(xte).double()
                dist = kernel_distance(k0, k1)
                rows.append({"depth": depth, "width": width, "seed": seed,
                             "ntk_rel_error": _rel(k0, k_inf), "kernel_distance": dist.value,
                             "kernel_rel_change": dist.extra["relative_change"],
                             "net_vs_linearized": _rel(f_net, f_lin), "net_vs_kernel": _rel(f_net, f_ker),
                             "train_loss": res.final["train_loss"], "lin_train_loss": lres.final["train_loss"],
                             "test_acc": res.final["test_acc"], "lin_test_acc": lres.final["test_acc"],
                             "kernel_test_acc": float((f_ker.argmax(1) == ds.y_test).double().mean()),
                             "diverged": bool(res.diverged or lres.diverged)})
                if seed == cfg.seeds[0]:
                    preds[(depth, width)] = (f_net[:, 1] - f_net[:, 0], f_ker[:, 1] - f_ker[:, 0])
    return _report(cfg, ds, rows, preds, out)


def _slopes(rows, depth, key) -> list[float]:
    """Per seed: the least-squares slope of log(row[key]) against log(width)."""
    out = []
    for s in sorted({r["seed"] for r in rows}):
        pts = [(r["width"], r[key]) for r in rows if r["depth"] == depth and r["seed"] == s and r[key] > 0]
        if len({w for w, _ in pts}) >= 2:
            out.append(float(np.polyfit(np.log([w for w, _ in pts]), np.log([v for _, v in pts]), 1)[0]))
    return out


def _slope_stat(rows, depth, key) -> dict:
    sl = _slopes(rows, depth, key)
    m, se = mean_se(sl) if sl else (float("nan"), None)
    return {"slope": round(m, 4), "se": None if se is None else round(se, 4), "seeds": len(sl)}


def _falls(st) -> bool | None:
    return None if st["se"] is None else st["slope"] < -2 * st["se"]


def _report(cfg, ds, rows, preds, out: Path) -> dict:
    loss0 = 1.0 / ds.num_classes  # the centered net starts at f = 0: mean (0 − one-hot)² = 1/C
    ok_runs = all(not r["diverged"] and r["train_loss"] < loss0 / 2 and r["lin_train_loss"] < loss0 / 2 for r in rows)
    stats = {d: {k: _slope_stat(rows, d, k) for k in ("ntk_rel_error", "kernel_distance", "kernel_rel_change",
                                                      "net_vs_linearized", "net_vs_kernel")} for d in cfg.depths}
    widest = {d: max(r["width"] for r in rows if r["depth"] == d) for d in cfg.depths}
    at_widest = {d: {k: round(float(np.mean([r[k] for r in rows if r["depth"] == d and r["width"] == widest[d]])), 6)
                     for k in ("ntk_rel_error", "kernel_distance", "net_vs_linearized", "net_vs_kernel")}
                 for d in cfg.depths}
    one_seed = "one seed: a slope's uncertainty needs at least two"

    def judge(key, metric, ok_fn, needs_training=True):
        measured = {f"depth {d}": {**stats[d][metric], "widest": widest[d], "at widest": at_widest[d].get(metric)}
                    for d in cfg.depths}
        if any(stats[d][metric]["se"] is None for d in cfg.depths):
            return CLAIMS[key].not_evaluable(one_seed, measured)
        if needs_training and not ok_runs:
            return CLAIMS[key].not_evaluable("a run diverged or did not lower its training loss", measured)
        return CLAIMS[key].judge(measured, all(ok_fn(stats[d][metric]) for d in cfg.depths))

    claims = [
        judge("ntk_converges", "ntk_rel_error", lambda s: abs(s["slope"] + 0.5) <= cfg.slope_tol and _falls(s),
              needs_training=False),
        judge("kernel_frozen", "kernel_distance", _falls),
        judge("net_is_linear", "net_vs_linearized", _falls),
        judge("net_is_kernel", "net_vs_kernel", _falls),
        CLAIMS["trained"].judge({"max final train loss": round(max(max(r["train_loss"], r["lin_train_loss"])
                                                                  for r in rows), 4),
                                 "initial": loss0}, ok_runs),
    ]
    figs = [save(width_figure(rows, stats), out / "figures" / "width_scaling.png"),
            save(predictions_figure(preds), out / "figures" / "predictions.png")]
    return preset_result(ds, claims, rows, figs, out, slopes=stats, captions={
        "figures/width_scaling.png": "Against width (log-log, one point per seed, lines: the fitted slopes): (a) "
        "relative error of the empirical NTK at initialization against the closed form, with a width^(−1/2) guide; "
        "(b) kernel distance between the NTK at initialization and after training; (c) relative deviation of the "
        "trained net's test predictions from its linearization and from kernel regression with the infinite-width NTK.",
        "figures/predictions.png": f"Test predictions f₁ − f₀ of the trained net (seed {cfg.seeds[0]}) against "
        "gradient-descent kernel regression with the infinite-width NTK, at the smallest and the largest width of each "
        "depth: the points close on the diagonal as the net widens."})


PRESET = Preset(name="jacot2018-ntk-width",
                title="Jacot et al. 2018 / Lee et al. 2019 — wide nets: the NTK converges, freezes, and the net trains "
                      "as its linearization",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * sum(1 for d in c.depths for w in c.widths if d == 1 or w <= c.max_width_deep))
