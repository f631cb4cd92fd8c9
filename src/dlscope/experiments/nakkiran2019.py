"""``nakkiran2019-double-descent`` — model-wise double descent: Nakkiran, Kaplun, Bansal, Yang, Barak &
Sutskever, "Deep double descent", ICLR 2020 (arXiv 2019), Fig. 1/2, in the setting of the MNIST-1D
authors' notebook; and Belkin, Hsu, Ma & Mandal, "Reconciling modern machine-learning practice and
the classical bias–variance trade-off", PNAS 2019, Fig. 2 (random features).

MLP part — ``notebooks/deep-double-descent.ipynb`` of github.com/greydanus/mnist1d (commit 7878d96):
MLP 40-h-h-10 (PyTorch default init), 4000 training examples, 15 % of the training labels replaced
by uniform random classes, SGD lr 0.01, momentum 0.9, batch 100, 500 epochs, h on
``np.unique(np.geomspace(2, 300, 20, dtype=int))`` (19 widths). Its printed results (label noise):
test error 54.05 % at h = 47 (train error 5.47 %), 54.02 % at h = 61 (the first width at 0.00 %
training error), 45.47 % at h = 300; without label noise the curve only flattens (41.66 % at 36,
37.25 % at 300). Differences here: the published MNIST-1D (4000 train / 1000 test, the notebook
regenerates 4000 / 12000), label noise on exactly 15 % of the examples (``data.corrupt``), every
point averaged over seeds; the CPU default trains 250 epochs on 10 of the 19 widths, which moves
the interpolation threshold to larger h. Paper scale: ``--set max_epochs=500
widths=2,3,4,5,7,9,12,16,21,27,36,47,61,80,104,135,177,230,300``.

Random-features part — N random ReLU features (``models.RandomFeatures``) on ``rf_n_train``
examples, readout = the minimum-norm least-squares fit to one-hot targets: the test risk peaks at
N = n, where the fit first interpolates, and falls again beyond it. It runs in seconds.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from .. import data as D
from .. import models
from ..report.figures import save
from ..report.figures.nakkiran2019 import double_descent_figure, random_features_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import difference, mean_sd

# The notebook's printed test errors with label noise (fractions), for the figure.
NOTEBOOK_NOISY = {2: .6959, 3: .6750, 4: .6255, 5: .5745, 7: .5480, 9: .4897, 12: .5028, 16: .4724, 21: .5084,
                  27: .5069, 36: .5280, 47: .5405, 61: .5402, 80: .5208, 104: .5023, 135: .4839, 177: .4788,
                  230: .4654, 300: .4547}


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # the notebook's dataset (published 4000/1000 split)
    data_root: Optional[str] = None
    n_train: Optional[int] = None      # None: all 4000 (the notebook)
    n_test: Optional[int] = None
    # model: MLP 40-h-h-10
    widths: tuple[int, ...] = (5, 12, 21, 36, 47, 61, 80, 104, 177, 300)  # h (notebook: 19 widths 2…300)
    depth: int = 2                     # hidden layers (notebook: 2)
    # SGD (the notebook's)
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 100
    max_epochs: float = 250            # notebook: 500 (the CPU default halves it)
    eval_every_epochs: float = 25      # test/train error curve resolution
    # measurement
    noise_levels: tuple[float, ...] = (0.15, 0.0)  # label noise p; the first is the main curve (notebook: 0.15)
    interpolation_error: float = 0.01  # the interpolation threshold: first h with train error ≤ this
    rf_n_train: int = 400              # n of the random-features fit (peak expected at N = n)
    rf_features: tuple[int, ...] = (40, 100, 200, 300, 360, 400, 440, 500, 800, 1600, 4000, 10000)  # N
    # claim tolerances
    peak_window: int = 1               # the error maximum within ± this many grid steps of the threshold
    descent_points: float = 0.05       # widest net ≥ this far below the peak (5 points)
    rf_peak_ratio: float = 5.0         # test MSE at N = n ≥ this × the test MSE at the largest N
    seeds: tuple[int, ...] = (0, 1)    # label-noise draw, init and batch order (RF: subset and features)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if list(self.widths) != sorted(set(self.widths)) or len(self.widths) < 3:
            raise ValueError("widths must be at least three increasing hidden-layer sizes")
        if any(not 0 <= p < 1 for p in self.noise_levels):
            raise ValueError("noise_levels must lie in [0, 1)")
        if list(self.rf_features) != sorted(set(self.rf_features)) or self.rf_n_train not in self.rf_features:
            raise ValueError("rf_features must be increasing and contain rf_n_train (the expected peak)")
        recipe(self, seed=self.seeds[0])


# --quick: the MLP part is only a smoke run (500 examples do not show the MLP peak: see the test); the
# random-features part is the full phenomenon.
QUICK = dict(n_train=500, widths=(8, 32, 128), max_epochs=100, eval_every_epochs=50, seeds=(0, 1),
             rf_n_train=200, rf_features=(20, 50, 100, 160, 200, 250, 400, 1000, 3000))

CLAIMS = declare(
    peak=ClaimSpec("with label noise, the test error peaks at the interpolation threshold (the first width "
                   "that fits the training set)", "Nakkiran et al. 2019, Fig. 1/2; mnist1d notebook (54.05 % "
                   "at h = 47, first 0 % train error at h = 61)",
                   "the maximum of the mean test error beyond the under-parameterized sweet spot lies within "
                   "± peak_window grid steps of the first width with mean train error ≤ interpolation_error"),
    descent=ClaimSpec("past the threshold the test error falls again: the widest net is well below the peak",
                      "Nakkiran et al. 2019, Fig. 1; mnist1d notebook (45.47 % at h = 300 vs 54.05 %)",
                      "mean over seeds of err(peak) − err(widest) ≥ descent_points and > 2 standard errors"),
    noise=ClaimSpec("without label noise the peak shrinks", "Nakkiran et al. 2019, §5 and Fig. 4; notebook "
                    "(bump above the sweet spot: 54.05 − 47.24 with noise, 41.66 − 41.02 without)",
                    "bump err(peak) − err(sweet spot) larger with noise than without, paired over seeds, "
                    "> 2 standard errors"),
    rf_peak=ClaimSpec("the minimum-norm random-features fit has its test risk maximum at N = n",
                      "Belkin et al. 2019, Fig. 2", "argmax_N of the mean test MSE is N = rf_n_train and its "
                      "value ≥ rf_peak_ratio × the test MSE at the largest N"),
    rf_descent=ClaimSpec("beyond N = n the test risk decreases as N grows", "Belkin et al. 2019, Fig. 2",
                         "Kendall τ(N, mean test MSE) ≤ −0.8 over N ≥ n"),
    interpolates=ClaimSpec("the widest MLP and every random-features fit with N ≥ n interpolate the "
                           "training set", "experimental control", "train error ≤ interpolation_error; "
                           "RF train MSE ≤ 1e-8", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_epochs=cfg.max_epochs, eval_every_epochs=cfg.eval_every_epochs, batch_size=cfg.batch_size,
                       lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, seed=seed,
                       device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    rows, curves = [], {}
    for p in cfg.noise_levels:
        for seed in cfg.seeds:
            dsn = D.corrupt(ds, "random_labels", fraction=p, seed=seed)
            for h in cfg.widths:
                name = f"noise{p:g}_h{h}_seed{seed}"
                res = train_model(out, name, dsn, "mlp", {"widths": (h,) * cfg.depth}, recipe(cfg, seed=seed),
                                  progress).result
                rows.append({"part": "mlp", "noise": p, "width": h, "seed": seed, "diverged": res.diverged,
                             "train_error": 1 - res.final["train_acc"], "test_error": 1 - res.final["test_acc"]})
                curves[(p, h, seed)] = res.metrics
    rows += _random_features(cfg, progress)
    return _report(cfg, ds, rows, out)


def _random_features(cfg: Config, progress: Progress | None) -> list:
    rows = []
    for seed in cfg.seeds:
        ds = D.load(cfg.data, root=cfg.data_root, n_train=cfg.rf_n_train, n_test=cfg.n_test, seed=seed)
        y, yt = (F.one_hot(v, ds.num_classes).double() for v in (ds.y_train, ds.y_test))
        for i, n_feat in enumerate(cfg.rf_features):
            if progress:
                progress(f"random features seed {seed}", i, len(cfg.rf_features))
            torch.manual_seed(seed)
            net = models.build("random-features", input_shape=ds.input_shape, num_classes=ds.num_classes,
                               features=n_feat).double().solve_min_norm(ds.x_train.double(), y)
            with torch.no_grad():
                out_tr, out_te = net(ds.x_train.double()), net(ds.x_test.double())
            rows.append({"part": "rf", "n": ds.n_train, "features": n_feat, "seed": seed,
                         "train_mse": float(((out_tr - y) ** 2).sum(1).mean()),
                         "test_mse": float(((out_te - yt) ** 2).sum(1).mean()),
                         "test_error": float((out_te.argmax(1) != ds.y_test).double().mean()),
                         "readout_norm": float(net.readout.weight.detach().norm())})
    return rows


def curve(rows: list, part: str, x: str, y: str, **match) -> tuple[list, np.ndarray, np.ndarray]:
    """(grid, mean, sd) of column ``y`` over seeds, per value of ``x``, for rows of ``part`` matching ``match``."""
    sel = [r for r in rows if r["part"] == part and all(r[k] == v for k, v in match.items())]
    grid = sorted({r[x] for r in sel})
    vals = [[r[y] for r in sel if r[x] == g] for g in grid]
    return grid, np.array([np.mean(v) for v in vals]), np.array([np.std(v, ddof=1) if len(v) > 1 else 0 for v in vals])


def bump(err, train, threshold: float) -> tuple:
    """(sweet, peak, first) grid indices of one error curve: ``first`` = first width with train error ≤
    threshold (None if none); ``sweet`` = the test-error minimum below it (the classical optimum);
    ``peak`` = the test-error maximum from the sweet spot on. Without an interpolating width the sweet
    spot is the global minimum. The notebook's curve: sweet h = 16, peak h = 47, first h = 61."""
    first = next((i for i, e in enumerate(train) if e <= threshold), None)
    sweet = int(np.argmin(err[:first])) if first else int(np.argmin(err))
    return sweet, sweet + int(np.argmax(err[sweet:])), first


def _report(cfg: Config, ds, rows: list, out: Path) -> dict:
    main = cfg.noise_levels[0]
    claims = []
    widths, err, _ = curve(rows, "mlp", "width", "test_error", noise=main)
    _, tr, _ = curve(rows, "mlp", "width", "train_error", noise=main)
    sweet, peak, first = bump(err, tr, cfg.interpolation_error)
    measured = {"widths": widths, "mean test error": [round(float(e), 4) for e in err],
                "mean train error": [round(float(e), 4) for e in tr], "sweet-spot width": widths[sweet],
                "peak width": widths[peak], "threshold width": None if first is None else widths[first]}
    if main == 0.0:
        claims.append(CLAIMS["peak"].not_evaluable("the first noise level is 0: no label noise", measured))
    elif not first:
        claims.append(CLAIMS["peak"].not_evaluable("no width reaches the interpolation threshold, or the "
                                                    "narrowest already does", measured))
    else:
        claims.append(CLAIMS["peak"].judge(measured, abs(peak - first) <= cfg.peak_window))

    def per_seed(p):
        e = {(r["seed"], r["width"]): r["test_error"] for r in rows if r["part"] == "mlp" and r["noise"] == p}
        return [[e[(s, h)] for h in widths] for s in cfg.seeds]

    noisy = per_seed(main)
    drop = difference([v[peak] for v in noisy], [v[-1] for v in noisy])
    ok = None if drop["significant"] is None else drop["diff"] >= cfg.descent_points and drop["significant"]
    claims.append(CLAIMS["descent"].judge({"peak width": widths[peak], "widest": widths[-1], **drop}, ok,
                                          None if ok is not None else "one seed: no spread"))
    if main == 0.0 or 0.0 not in cfg.noise_levels:
        claims.append(CLAIMS["noise"].not_evaluable("needs a noisy first level and a noise-free level"))
    else:
        _, cerr, _ = curve(rows, "mlp", "width", "test_error", noise=0.0)
        _, ctr, _ = curve(rows, "mlp", "width", "train_error", noise=0.0)
        csweet, cpeak, _ = bump(cerr, ctr, cfg.interpolation_error)
        hn = [v[peak] - v[sweet] for v in noisy]
        hc = [v[cpeak] - v[csweet] for v in per_seed(0.0)]
        d = difference(hn, hc)
        ok = None if d["significant"] is None else d["diff"] > 0 and d["significant"]
        claims.append(CLAIMS["noise"].judge({"bump noisy − clean": d, "bump noisy (mean ± sd)": mean_sd(hn),
                                             "bump clean (mean ± sd)": mean_sd(hc), "clean peak width": widths[cpeak]},
                                            ok, None if ok is not None else "one seed: no spread"))
    feats, mse, _ = curve(rows, "rf", "features", "test_mse")
    n = cfg.rf_n_train
    k = int(np.argmax(mse))
    claims.append(CLAIMS["rf_peak"].judge({"argmax N": feats[k], "n": n, "test MSE at N = n": round(float(
        mse[feats.index(n)]), 4), "test MSE at largest N": round(float(mse[-1]), 4)},
        feats[k] == n and mse[feats.index(n)] >= cfg.rf_peak_ratio * mse[-1]))
    beyond = [(f, m) for f, m in zip(feats, mse) if f >= n]
    if len(beyond) < 3:
        claims.append(CLAIMS["rf_descent"].not_evaluable("needs three feature counts N ≥ n"))
    else:
        tau = float(stats.kendalltau(*zip(*beyond)).statistic)
        claims.append(CLAIMS["rf_descent"].judge({"tau": round(tau, 3), "N ≥ n": [f for f, _ in beyond]}, tau <= -0.8))
    rf_fit = max(r["train_mse"] for r in rows if r["part"] == "rf" and r["features"] >= n)
    claims.append(CLAIMS["interpolates"].judge({"widest MLP train error": round(float(tr[-1]), 4),
                                                "max RF train MSE for N ≥ n": rf_fit},
                                               tr[-1] <= cfg.interpolation_error and rf_fit <= 1e-8))
    mlp = {p: {k: curve(rows, "mlp", "width", k, noise=p) for k in ("test_error", "train_error")}
           for p in cfg.noise_levels}
    rf = {k: curve(rows, "rf", "features", k) for k in ("test_mse", "test_error", "train_mse")}
    threshold = widths[first] if first is not None else None
    figs = [save(double_descent_figure(mlp, threshold, NOTEBOOK_NOISY, ds.num_classes),
                 out / "figures" / "double_descent.png"),
            save(random_features_figure(rf, n), out / "figures" / "random_features.png")]
    return preset_result(ds, claims, rows, figs, out, captions={
        "figures/double_descent.png": f"Test (solid) and training (dashed) error of MLP 40-h-h-10 on {ds.name} vs "
            f"width h, label noise {', '.join(f'{p:g}' for p in cfg.noise_levels)}, mean ± sd over "
            f"{len(cfg.seeds)} seeds, {cfg.max_epochs:g} epochs; gray: the mnist1d notebook (15 % noise, 500 "
            "epochs); dotted line: the interpolation threshold.",
        "figures/random_features.png": f"Minimum-norm random ReLU features on n = {n} examples: test squared loss "
            "(log scale) and test zero-one error vs N, mean ± sd over seeds; the dashed line marks N = n."})


PRESET = Preset(name="nakkiran2019-double-descent",
                title="Nakkiran et al. 2019 / Belkin et al. 2019 — model-wise double descent (MLP on MNIST-1D, "
                      "random features)",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.noise_levels) * len(c.seeds) * len(c.widths))
