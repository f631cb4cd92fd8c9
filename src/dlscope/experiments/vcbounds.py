"""``vc-bounds`` — VC-dimension bounds of the random-label nets, next to n and their test errors.

The nets of the random-labels experiment (Zhang et al. 2017: the AlexNet-small ``cnn`` and the
MLPs 1×512 and 3×512) are trained to fit the true labels and uniformly random labels with the
same SGD recipe. For each, the sizes p (parameters), L (layers of linear maps) and k (units), and
the VC-dimension bounds of :func:`dlscope.measure.vc_dimension_bounds`:

* threshold units Õ(p) (Baum & Haussler 1989): 2p log₂(ek);
* piecewise-linear (ReLU) O(pL log p), the growth-function argument of Bartlett, Harvey, Liaw &
  Mehrabian 2019;
* piecewise-polynomial Õ(pL²) (degree 2) and sigmoid Õ(p²k²) (Karpinski & Macintyre 1997);

and the VC generalization bound (:func:`dlscope.measure.vc_bound`, multiclass, δ) with the
piecewise-linear dimension, and the n at which that bound would stop being vacuous. Checked:
every bound exceeds n, so the VC bound is vacuous, while the *same* architecture — hence the
same bound — has a small test error on true labels and chance error on random labels: capacity
of the hypothesis class cannot explain which nets generalize (Zhang et al. 2017, §1; the seeds'
"explaining generalization failures").

BHLM's lower bound Ω(pL log(p/L)) (their Thm 3) is about *some* net of at most p parameters and
L layers and has an unspecified constant, so it is not a number for these nets: it is drawn on its
own axis as an order of growth (g(p′)/g(p), g = pL log₂(p/L), in which the constant cancels),
never beside the upper bounds, and it enters no claim.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from .. import data as D
from ..measure import n_for_nonvacuous, vc_bound, vc_dimension_bounds
from ..report.figures import save
from ..report.figures.vcbounds import vc_bounds_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import mean_sd as mean_std

# The nets of Zhang et al. 2017 (Appendix A), at the sizes the zhang2017 preset trains on mnist1d.
ARCHS = {"cnn": ("cnn", size_kwargs("cnn", 32, 2)), "mlp-1x512": ("mlp", {"widths": (512,)}),
         "mlp-3x512": ("mlp", {"widths": (512, 512, 512)})}
LABELS = ("true_labels", "random_labels")
UPPER = ("threshold_upper", "piecewise_linear_upper", "piecewise_polynomial_upper", "sigmoid_upper")
BOUNDS = UPPER  # upper bounds only: the BHLM lower bound is an order of growth (module docstring)


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # mnist1d embedded; mnist, fashion-mnist, cifar10 from files
    data_root: Optional[str] = None
    n_train: Optional[int] = None      # stratified training subset (None: all); n in the bounds
    n_test: Optional[int] = None
    # model
    architectures: tuple[str, ...] = ("cnn", "mlp-1x512", "mlp-3x512")  # keys of ARCHS (Zhang et al.'s nets)
    # SGD
    lr: float = 0.02                   # the zhang2017 recipe: SGD + momentum 0.9, batch 128, constant rate
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 128
    max_steps: int = 20000             # budget per run, in SGD steps
    eval_every: int = 50
    target_train_acc: float = 0.99     # fit = this training accuracy (Zhang et al.: 100%)
    # measurement
    delta: float = 0.05                # confidence 1 − δ of the VC generalization bound
    # claim tolerances
    min_error_difference: float = 0.2  # "test errors differ": random − true test error at least this
    seeds: tuple[int, ...] = (0, 1)    # init, SGD order and random labels; test errors are mean ± std
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        bad = [a for a in self.architectures if a not in ARCHS]
        if bad:
            raise ValueError(f"architectures must be among {', '.join(ARCHS)} (got {bad})")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, n_test=1000, architectures=("cnn", "mlp-1x512"), seeds=(0,))

CLAIMS = declare(
    exceed_n=ClaimSpec("every VC-dimension upper bound exceeds the number of training examples n",
                       "Baum & Haussler 1989; Bartlett et al. 2019; Karpinski & Macintyre 1997",
                       "bound / n > 1 for every net"),
    vacuous=ClaimSpec("the VC generalization bound is vacuous (> 1) for every net",
                      "Vapnik–Chervonenkis; Mohri et al. Cor. 3.19", "bound > 1"),
    blind=ClaimSpec("the same architecture (the same VC bounds) generalizes on true labels and not on random labels",
                    "Zhang et al. 2017, §1 (capacity does not explain generalization)",
                    "identical VC bounds and test error(random) − test error(true) ≥ min_error_difference"),
    fitted=ClaimSpec("every net reaches the target training accuracy", "experimental control", "all runs fit",
                     control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every=cfg.eval_every,
                       target_train_acc=cfg.target_train_acc, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    rows, growth = [], {}
    for arch in cfg.architectures:
        model, mkw = ARCHS[arch]
        for seed in cfg.seeds:
            for kind in LABELS:
                dsc = D.corrupt(ds, kind, seed=seed)
                net, _, res = train_model(out, f"{arch}_{kind}_seed{seed}", dsc, model, mkw,
                                          recipe(cfg, seed=seed), progress)
                vc = vc_dimension_bounds(net, ds.input_shape)
                train_err = 1 - res.final["train_acc"]
                gen = vc_bound(vc.value["piecewise_linear_upper"], ds.n_train, delta=cfg.delta,
                               train_error=train_err, num_classes=ds.num_classes)
                rows.append({"architecture": arch, "labels": kind, "seed": seed, "n": ds.n_train,
                             "p": vc.extra["p"], "L": vc.extra["L"], "k": vc.extra["k"],
                             **{b: float(vc.value[b]) for b in BOUNDS},
                             "steps_to_fit": res.steps_to_fit, "train_error": round(train_err, 4),
                             "test_error": round(1 - res.final["test_acc"], 4),
                             "vc_bound": float(gen), "vc_bound_vacuous": gen.extra["vacuous"],
                             "n_for_nonvacuous": n_for_nonvacuous(vc.value["piecewise_linear_upper"],
                                                                  ds.num_classes, cfg.delta)})
            growth[arch] = vc.extra["lower_bound_order"]["growth"]
    return _report(cfg, ds, rows, growth, out)


def _report(cfg: Config, ds, rows: list, growth: dict, out: Path) -> dict:
    n = ds.n_train
    claims = []
    ratios = {a: {b: round(min(r[b] for r in rows if r["architecture"] == a) / n, 1) for b in UPPER}
              for a in cfg.architectures}
    claims.append(CLAIMS["exceed_n"].judge(ratios, all(v > 1 for d in ratios.values() for v in d.values())))
    claims.append(CLAIMS["vacuous"].judge(
        {f"{r['architecture']}_{r['labels']}_seed{r['seed']}": round(r["vc_bound"], 3) for r in rows},
        all(r["vc_bound_vacuous"] for r in rows)))
    per_arch, held = {}, True
    for a in cfg.architectures:
        err = {k: mean_std(r["test_error"] for r in rows if r["architecture"] == a and r["labels"] == k)
               for k in LABELS}
        same = len({tuple(r[b] for b in BOUNDS) for r in rows if r["architecture"] == a}) == 1
        diff = err["random_labels"][0] - err["true_labels"][0]
        per_arch[a] = {"test_error_true": err["true_labels"], "test_error_random": err["random_labels"],
                       "difference": round(diff, 4), "same_vc_bounds": same}
        held &= same and diff >= cfg.min_error_difference
    claims.append(CLAIMS["blind"].judge(per_arch, held))
    unfit = [f"{r['architecture']}_{r['labels']}_seed{r['seed']}" for r in rows if r["steps_to_fit"] is None]
    claims.append(CLAIMS["fitted"].judge({"not fitted": unfit}, not unfit))
    figs = [save(vc_bounds_figure(rows, list(BOUNDS), n, growth), out / "figures" / "vc_bounds.png")]
    return preset_result(ds, claims, rows, figs, out, lower_bound_order={
        "expression": "Ω(p L log(p/L))", "source": "Bartlett, Harvey, Liaw & Mehrabian 2019, Thm 3",
        "constant": "unspecified; the theorem is about some net with ≤ p parameters and ≤ L layers",
        "growth": growth}, captions={
        "figures/vc_bounds.png": "Left: upper bounds on the VC dimension of each architecture against the number n of "
                                 "training examples (dashed; above it every bound is vacuous). Middle, on its own "
                                 "axis: the order of growth of BHLM's lower bound Ω(pL log(p/L)) as the parameter "
                                 "count p′ varies at each net's depth, relative to the net itself (the theorem's "
                                 "constant is unknown and cancels; it is not a value of the VC dimension). Right: the "
                                 "test errors of the same architectures on true and on random labels."})


PRESET = Preset(name="vc-bounds",
                title="VC-dimension bounds of the random-label nets — vacuous, and blind to the labels",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 2 * len(c.seeds) * len(c.architectures))
