"""``chizat2019-lazy-vs-rich`` — Chizat, Oyallon & Bach, "On lazy training in differentiable
programming", NeurIPS 2019.

A model h(w) is trained through the scaled objective F_α(w) = R(α h(w)) / α² (their §1.2). If
h(w0) = 0, gradient flow on F_α moves the predictor α h at an α-independent speed while the
weights move by O(1/α) (their §2): for large α the model stays at its linearization
around w0 ("lazy training", a kernel method with the tangent kernel at w0); for small α the
weights, and the kernel, move ("rich" or feature-learning regime). Their experiments (§3) find
that lazy training degrades test performance, for two-layer nets on a planted teacher and for
deep CNNs on CIFAR-10.

Here: the two-layer ReLU net in NTK parameterization (``models.build("ntk-mlp", center=True)``:
h(x; w) = g(x; w) − g(x; w0), so h(w0) = 0 exactly, one of the two constructions the paper uses)
with output scale α, on mnist1d (10 classes, inputs on the sphere ‖x‖ = √d as in
``jacot2018-ntk-width``), cross-entropy, SGD with momentum. The 1/α² loss scaling is applied as
the learning rate η0/α² (identical for SGD with momentum and no weight decay). Every net trains to
the same training accuracy, so test accuracies compare inductive biases, not training speed.
Measured per (α, seed): the relative weight change ‖w_T − w0‖/‖w0‖, the kernel distance (Fort et
al. 2020) between the NTK at w0 and at w_T on ``probe_points`` training inputs, the test accuracy;
at the largest α also the linearized model trained the same way. (Under the η0/α² rate the
linearized model's predictor α J (w − w0) follows the same path for every α, so its test accuracy
is the kernel's, the accuracy every α tends to as it grows.)
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..measure import kernel_distance, linearized, ntk, param_distance, param_norm
from ..report.figures import save
from ..report.figures.chizat2019 import accuracy_figure, laziness_figure
from ..train import TrainConfig, fit
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .jacot2018 import binary_sphere
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import difference, mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # 10 classes; inputs rescaled to ‖x‖ = √d
    data_root: Optional[str] = None
    n_train: Optional[int] = 2000
    n_test: Optional[int] = None
    # model: ntk-mlp, two-layer, centered (h(w0) = 0)
    width: int = 256                   # m; the mean-field end of the range is α ≈ 1/√m
    alphas: tuple[float, ...] = (0.125, 0.5, 2.0, 8.0, 32.0, 128.0)  # output scales α, small (rich) to large (lazy)
    lazy_from: float = 2.0             # α ≥ this: the lazy range where ‖w − w0‖ ∝ 1/α is fitted
    # SGD
    lr: float = 1.0                    # η0; the net with scale α trains with η0/α² (the 1/α² loss scaling)
    momentum: float = 0.9
    weight_decay: float = 0.0          # must stay 0: decay would break the η0/α² ≡ F_α equivalence
    batch_size: int = 128
    max_steps: int = 12000
    eval_every: int = 250
    target_train_acc: float = 0.9      # every net trains to this accuracy: test accuracies at equal fit
    # measurement
    probe_points: int = 128            # training inputs on which the NTK is measured
    # claim tolerances
    slope_tol: float = 0.15            # |slope + 1| ≤ this for the weight change in the lazy range
    accuracy_tol: float = 0.02         # lazy net vs its linearization: |Δ test accuracy| ≤ this …
    deviation_max: float = 0.1         # … and test logits within this relative ℓ2 distance
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.weight_decay != 0:
            raise ValueError("weight_decay must be 0: the 1/α² loss scaling is applied through the learning rate")
        if any(a <= 0 for a in self.alphas) or len(set(self.alphas)) < 2:
            raise ValueError("alphas must hold at least two different positive scales")
        if sum(a >= self.lazy_from for a in self.alphas) < 2:
            raise ValueError("at least two alphas must lie in the lazy range (≥ lazy_from) to fit a slope")
        recipe(self, seed=self.seeds[0], alpha=max(self.alphas))


QUICK = dict(n_train=1000, n_test=500, alphas=(0.25, 4.0, 64.0), max_steps=4000, probe_points=48, seeds=(0, 1))

CLAIMS = declare(
    weights_lazy=ClaimSpec("in the lazy range the weights move ∝ 1/α",
                           "Chizat et al. 2019, §1.2 and §2",
                           "mean log-log slope of ‖w_T − w0‖/‖w0‖ vs α over α ≥ lazy_from: |slope + 1| ≤ slope_tol"),
    kernel_frozen=ClaimSpec("the tangent kernel moves at small α and is frozen at large α",
                            "Chizat et al. 2019, §1–2",
                            "mean log-log slope of the kernel distance (init → trained) vs α < 0 beyond 2 se"),
    lazy_is_kernel=ClaimSpec("at large α the trained net is its linearization: a kernel method with the tangent "
                             "kernel at initialization", "Chizat et al. 2019, §2 (lazy and linearized paths stay close)",
                             "largest α: ‖f_net − f_lin‖/‖f_lin‖ on test ≤ deviation_max and |Δ test acc| ≤ "
                             "accuracy_tol"),
    rich_generalizes=ClaimSpec("feature learning (small α) reaches a higher test accuracy than lazy training "
                               "(large α) at the same training accuracy",
                               "Chizat et al. 2019, §3 (deep CNNs on CIFAR-10); here a two-layer net on mnist1d",
                               "test acc(smallest α) − test acc(largest α), paired over seeds, > 0 beyond 2 se"),
    fitted=ClaimSpec("every net (and linearization) reached the target training accuracy without diverging",
                     "experimental control", "all runs fitted", control=True),
)


def recipe(cfg: Config, *, seed: int, alpha: float = 1.0, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr / alpha ** 2,
                       momentum=cfg.momentum, weight_decay=cfg.weight_decay, loss="ce", eval_every=cfg.eval_every,
                       target_train_acc=cfg.target_train_acc, seed=seed, device=cfg.device)


def _sphere_only(ds):
    sphered = binary_sphere(ds)  # the same rescaling as jacot2018-ntk-width, the 10 classes kept
    return sphered.replace(y_train=ds.y_train, y_test=ds.y_test, num_classes=ds.num_classes,
                           meta={**sphered.meta, "task": "10 classes"})


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = _sphere_only(load_dataset(cfg))
    probe = ds.x_train[:cfg.probe_points]
    top, rows = max(cfg.alphas), []
    for alpha in sorted(cfg.alphas):
        for seed in cfg.seeds:
            name = f"alpha{alpha:g}_seed{seed}"
            kw = {"width": cfg.width, "depth": 1, "alpha": alpha, "center": True}
            net, init, res = train_model(out, name, ds, "ntk-mlp", kw, recipe(cfg, seed=seed, alpha=alpha), progress)
            dist = kernel_distance(ntk(init, probe), ntk(net, probe))
            row = {"alpha": alpha, "seed": seed, "weight_change": float(param_distance(net, init)) / float(param_norm(init)),
                   "kernel_distance": dist.value, "kernel_rel_change": dist.extra["relative_change"],
                   "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"], "steps": res.steps,
                   "fitted": res.steps_to_fit is not None and not res.diverged}
            if alpha == top:
                lin = linearized(init)
                lres = fit(lin, ds, recipe(cfg, seed=seed, alpha=alpha), run_dir=out / "runs" / f"{name}_linearized",
                           extra_config={"model_build": {"name": "linearized ntk-mlp", **kw}})
                with torch.no_grad():
                    f_net, f_lin = net.eval()(ds.x_test).double(), lin(ds.x_test).double()
                row.update(lin_test_acc=lres.final["test_acc"], lin_deviation=float((f_net - f_lin).norm() / f_lin.norm()),
                           agreement=float((f_net.argmax(1) == f_lin.argmax(1)).double().mean()),
                           fitted=row["fitted"] and lres.steps_to_fit is not None and not lres.diverged)
            rows.append(row)
    return _report(cfg, ds, rows, out)


def _slope(rows, key, alphas) -> dict:
    sl = []
    for s in sorted({r["seed"] for r in rows}):
        pts = [(r["alpha"], r[key]) for r in rows if r["seed"] == s and r["alpha"] in alphas and r[key] > 0]
        if len(pts) >= 2:
            sl.append(float(np.polyfit(np.log([a for a, _ in pts]), np.log([v for _, v in pts]), 1)[0]))
    m, se = mean_se(sl) if sl else (float("nan"), None)
    return {"slope": round(m, 4), "se": None if se is None else round(se, 4), "seeds": len(sl)}


def _report(cfg, ds, rows, out: Path) -> dict:
    lo, top = min(cfg.alphas), max(cfg.alphas)
    fitted = all(r["fitted"] for r in rows)
    lazy = {a for a in cfg.alphas if a >= cfg.lazy_from}
    w_st, k_st = _slope(rows, "weight_change", lazy), _slope(rows, "kernel_distance", set(cfg.alphas))
    one_seed = "one seed: the uncertainty needs at least two"
    claims = []
    w_meas = {**w_st, "lazy alphas": sorted(lazy)}
    claims.append(CLAIMS["weights_lazy"].not_evaluable(one_seed, w_meas) if w_st["se"] is None else
                  CLAIMS["weights_lazy"].judge(w_meas, abs(w_st["slope"] + 1) <= cfg.slope_tol))
    k_meas = {**k_st, "distance at smallest α": round(float(np.mean([r["kernel_distance"] for r in rows
                                                                     if r["alpha"] == lo])), 6),
              "distance at largest α": round(float(np.mean([r["kernel_distance"] for r in rows if r["alpha"] == top])), 8)}
    claims.append(CLAIMS["kernel_frozen"].not_evaluable(one_seed, k_meas) if k_st["se"] is None else
                  CLAIMS["kernel_frozen"].judge(k_meas, k_st["slope"] < -2 * k_st["se"]))
    tops = [r for r in rows if r["alpha"] == top]
    gap, _ = mean_se([r["test_acc"] - r["lin_test_acc"] for r in tops])
    dev = float(np.mean([r["lin_deviation"] for r in tops]))
    l_meas = {"alpha": top, "relative deviation of test logits": round(dev, 4), "test acc net − linearized": round(gap, 4),
              "same predicted class": round(float(np.mean([r["agreement"] for r in tops])), 4),
              "net test acc": round(float(np.mean([r["test_acc"] for r in tops])), 4)}
    claims.append(CLAIMS["lazy_is_kernel"].judge(l_meas, dev <= cfg.deviation_max and abs(gap) <= cfg.accuracy_tol)
                  if fitted else CLAIMS["lazy_is_kernel"].not_evaluable("a run did not reach the target accuracy", l_meas))
    by = {a: [r["test_acc"] for r in sorted(rows, key=lambda r: r["seed"]) if r["alpha"] == a] for a in (lo, top)}
    diff = difference(by[lo], by[top])
    r_meas = {"smallest α": lo, "largest α": top, "test acc (small α)": round(float(np.mean(by[lo])), 4),
              "test acc (large α)": round(float(np.mean(by[top])), 4), **diff}
    if not fitted:
        claims.append(CLAIMS["rich_generalizes"].not_evaluable("a run did not reach the target accuracy", r_meas))
    elif diff["significant"] is None:
        claims.append(CLAIMS["rich_generalizes"].not_evaluable(one_seed, r_meas))
    else:
        claims.append(CLAIMS["rich_generalizes"].judge(r_meas, diff["diff"] > 0 and diff["significant"]))
    claims.append(CLAIMS["fitted"].judge({f"α={r['alpha']:g} seed {r['seed']}": r["steps"] for r in rows
                                          if not r["fitted"]} or {"all": "fitted"}, fitted))
    figs = [save(laziness_figure(rows, w_st, lazy), out / "figures" / "laziness.png"),
            save(accuracy_figure(rows), out / "figures" / "accuracy.png")]
    return preset_result(ds, claims, rows, figs, out, slopes={"weight_change": w_st, "kernel_distance": k_st},
                         captions={
        "figures/laziness.png": "Against the output scale α (log-log, one point per seed): the relative weight "
        f"change ‖w_T − w0‖/‖w0‖ with its slope fitted over α ≥ {cfg.lazy_from:g} and a 1/α guide (left); the "
        "kernel distance between the tangent kernel at initialization and after training (right).",
        "figures/accuracy.png": f"Test accuracy against α (mean ± se over seeds), every net trained to "
        f"{cfg.target_train_acc:.0%} training accuracy; the cross marks the linearized model at the largest α."})


PRESET = Preset(name="chizat2019-lazy-vs-rich",
                title="Chizat, Oyallon & Bach 2019 — lazy training: large output scale freezes the kernel",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.alphas) * len(c.seeds))
