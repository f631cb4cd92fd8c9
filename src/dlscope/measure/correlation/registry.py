"""The generalization-measure registry: every measure with its metadata, and ``measure_all``.

Definitions follow Jiang et al. 2020 ("Fantastic generalization measures and where to find
them", App. C), with d = number of layers (linear maps, BatchNorm folded), W_i the folded layer
weight, ‖A_i‖_σ the exact operator norm of layer i on its input shape, γ the 10th percentile of
training margins, n the training-set size. ``sign`` is the direction the measure is expected to
correlate with the generalization gap (+1: larger measure, larger gap); every measure here is
oriented so that +1 holds (flatness enters as 1/σ′²). ``cost``: ``cheap`` (weights only),
``forward`` (passes over the data), ``norms`` (operator norms by Lanczos), ``expensive`` (flatness
searches: many passes over the data).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable

import torch
from torch import nn

from .._core.result import Result
from ..bounds.bartlett2017 import complexity_from_rows
from ..bounds.margins import margin_percentile, margins
from ..flatness.keskar2017 import keskar_sharpness
from ..flatness.pacbayes import pacbayes_sigma
from ..flatness.worst_case import worst_case_sharpness
from ..norms.layer_norms import layer_norms
from ..norms.path_norm import param_count, param_distance, param_norm, path_norm

__all__ = ["Measure", "MEASURES", "measure_all", "generalization_gap"]

COSTS = ("cheap", "forward", "norms", "expensive")


@dataclasses.dataclass(frozen=True)
class Measure:
    name: str
    fn: Callable
    needs_data: bool
    needs_init: bool
    sign: int
    cost: str
    formula: str
    paper: str = "Jiang et al. 2020"


class _Context:
    """Lazily computed quantities shared by several measures (one set per measure_all call)."""

    def __init__(self, model, init_model, dataset, seed, options):
        self.model, self.init, self.seed, self.opt = model, init_model, seed, options
        self.x, self.y = dataset.x_train, dataset.y_train
        self.input_shape = tuple(getattr(dataset, "input_shape", None) or self.x.shape[1:])
        self.n = len(self.x)
        k = options.get("flatness_examples")
        if k is not None and k < self.n:
            idx = torch.randperm(self.n, generator=torch.Generator().manual_seed(seed))[:k]
            self.fx, self.fy = self.x[idx], self.y[idx]
        else:
            self.fx, self.fy = self.x, self.y

    @functools.cached_property
    def gamma(self) -> float:
        return margin_percentile(margins(self.model, self.x, self.y), self.opt.get("margin_percentile", 10.0))

    @functools.cached_property
    def rows(self) -> list:
        return layer_norms(self.model, self.input_shape, reference=self.init, seed=self.seed)

    def sigma(self, mag: bool) -> Result:
        key = "_sigma_mag" if mag else "_sigma"
        if key not in self.__dict__:
            self.__dict__[key] = pacbayes_sigma(self.model, self.fx, self.fy, seed=self.seed, magnitude_aware=mag,
                                                **self.opt.get("pacbayes", {}))
        return self.__dict__[key]

    def alpha(self, mag: bool) -> Result:
        return worst_case_sharpness(self.model, self.fx, self.fy, seed=self.seed, magnitude_aware=mag,
                                    **self.opt.get("sharpness", {}))


def _log(v: float) -> float:  # log 0 = −inf (a zero layer, a model equal to its init) instead of an error
    return math.log(v) if v > 0 else -math.inf


def _over_gamma(v: float, c: _Context, power: float = 2.0) -> float:
    return v / c.gamma ** power if c.gamma > 0 else math.nan


def _log_prod(c, key):  # log ∏ ‖·‖²
    return sum(2 * _log(r[key]) for r in c.rows)


def _log_sum(c, key):  # log( d (∏ ‖·‖²)^{1/d} ), the "sum-of" form of Jiang et al. (AM-GM balanced)
    d = len(c.rows)
    return math.log(d) + _log_prod(c, key) / d


def _log_margin(c) -> float:
    return 2 * math.log(c.gamma) if c.gamma > 0 else math.nan


def _inv_sq(res: Result, name: str) -> Result:
    """1/s² with stderr 2·se/s³ (delta method) from a σ′ or α′ result."""
    s = float(res.value)
    val = 1.0 / s ** 2 if s > 0 else math.inf
    se = 2 * res.stderr / s ** 3 if (res.stderr is not None and s > 0) else res.stderr
    return Result(name, val, se, settings=res.settings, extra={res.name: s, **res.extra})


def _pacbayes_bound_term(c, mag_res: Result, dist: float) -> float:
    s = float(mag_res.value)
    return dist ** 2 / (4 * s ** 2) + math.log(c.n / s) + 10 if s > 0 else math.inf


def _keskar(c, subspace):
    kw = dict(c.opt.get("keskar", {}))
    if subspace:
        kw.setdefault("subspace_dim", 100)
    return keskar_sharpness(c.model, c.fx, c.fy, seed=c.seed, **kw)


def _path(c, p: float, squared: bool = False) -> Result:
    """Path norm with Jiang et al.'s bias convention by default (options['path_norm_biases'])."""
    key = f"_path_l{p:g}"
    if key not in c.__dict__:
        c.__dict__[key] = path_norm(c.model, c.input_shape, p=p, biases=c.opt.get("path_norm_biases", "included"))
    r = c.__dict__[key]
    value = float(r.value) ** 2 if squared else float(r.value)
    return Result(r.name, value, settings={"convention": f"biases {r.settings['biases']}", **r.settings})


def _param_norm(c) -> Result:
    """Jiang et al.'s param_norm Σ_i ‖W_i‖²_F: layer weights only (BatchNorm folded into the layer it
    follows), as in nitarshan/robust-generalization-measures data/generation/measures.py
    (``get_weights_only`` drops names with 'bias' or 'bn'; ``PARAM_NORM = fro_norms.sum()`` after
    ``_reparam``). options['param_norm'] = 'all': ‖w‖²₂ over every trainable parameter instead."""
    scope = c.opt.get("param_norm", "weights")
    if scope not in ("weights", "all"):
        raise ValueError(f"options['param_norm'] must be 'weights' or 'all', not {scope!r}")
    value = (sum(r["fro"] ** 2 for r in c.rows if not r["kind"].startswith("BatchNorm")) if scope == "weights"
             else param_norm(c.model) ** 2)
    return Result("param_norm", value, settings={"convention": "weights only, BatchNorm folded" if scope == "weights"
                                                 else "all trainable parameters"})


_M = Measure
MEASURES: dict[str, Measure] = {m.name: m for m in [
    _M("params", lambda c: param_count(c.model), False, False, 1, "cheap", "p = number of trainable parameters"),
    _M("inverse_margin", lambda c: _over_gamma(1.0, c), True, False, 1, "forward", "1/γ²"),
    _M("log_prod_of_spec", lambda c: _log_prod(c, "spec"), False, False, 1, "norms", "log ∏‖A_i‖²_σ"),
    _M("log_prod_of_spec_over_margin", lambda c: _log_prod(c, "spec") - _log_margin(c), True, False, 1, "norms",
       "log(∏‖A_i‖²_σ / γ²)"),
    _M("log_sum_of_spec", lambda c: _log_sum(c, "spec"), False, False, 1, "norms", "log(d (∏‖A_i‖²_σ)^{1/d})"),
    _M("log_sum_of_spec_over_margin", lambda c: math.log(len(c.rows)) + (_log_prod(c, "spec") - _log_margin(c))
       / len(c.rows), True, False, 1, "norms", "log(d (∏‖A_i‖²_σ / γ²)^{1/d})"),
    _M("log_prod_of_fro", lambda c: _log_prod(c, "fro"), False, False, 1, "cheap", "log ∏‖W_i‖²_F"),
    _M("log_prod_of_fro_over_margin", lambda c: _log_prod(c, "fro") - _log_margin(c), True, False, 1, "forward",
       "log(∏‖W_i‖²_F / γ²)"),
    _M("log_sum_of_fro", lambda c: _log_sum(c, "fro"), False, False, 1, "cheap", "log(d (∏‖W_i‖²_F)^{1/d})"),
    _M("log_sum_of_fro_over_margin", lambda c: math.log(len(c.rows)) + (_log_prod(c, "fro") - _log_margin(c))
       / len(c.rows), True, False, 1, "forward", "log(d (∏‖W_i‖²_F / γ²)^{1/d})"),
    _M("frobenius_distance", lambda c: sum(r["dist_fro"] ** 2 for r in c.rows), False, True, 1, "cheap",
       "Σ‖W_i − W⁰_i‖²_F"),
    _M("param_norm", lambda c: _param_norm(c), False, False, 1, "cheap",
       "Σ‖W_i‖²_F (layer weights, BatchNorm folded; option: all parameters)"),
    _M("dist_from_init", lambda c: param_distance(c.model, c.init), False, True, 1, "cheap", "‖w − w⁰‖₂"),
    _M("fro_over_spec", lambda c: sum((r["fro"] / r["spec"]) ** 2 for r in c.rows), False, False, 1, "norms",
       "Σ‖W_i‖²_F / ‖A_i‖²_σ"),
    _M("log_spec_init_main", lambda c: _log_prod(c, "spec") + _log(sum((r["dist_fro"] / r["spec"]) ** 2
       for r in c.rows)) - _log_margin(c), True, True, 1, "norms",
       "log(∏‖A_i‖²_σ Σ‖W_i − W⁰_i‖²_F/‖A_i‖²_σ / γ²)", "Neyshabur et al. 2018; Jiang et al. 2020"),
    _M("log_spec_orig_main", lambda c: _log_prod(c, "spec") + _log(sum((r["fro"] / r["spec"]) ** 2
       for r in c.rows)) - _log_margin(c), True, False, 1, "norms",
       "log(∏‖A_i‖²_σ Σ‖W_i‖²_F/‖A_i‖²_σ / γ²)", "Neyshabur et al. 2018; Jiang et al. 2020"),
    _M("log_spectral_complexity", lambda c: _log(complexity_from_rows(c.rows, from_reference=False)[0]),
       False, False, 1, "norms", "log R_A, M_i = 0 (weights only, as every registry norm)", "Bartlett et al. 2017"),
    _M("log_spectral_complexity_init", lambda c: _log(complexity_from_rows(c.rows)[0]), False, True, 1, "norms",
       "log R_A, M_i = W⁰_i (weights only)", "Bartlett et al. 2017"),
    _M("log_spectral_complexity_over_margin", lambda c: _log(complexity_from_rows(c.rows, from_reference=False)[0]
       * float(c.x.double().pow(2).sum().sqrt()) / (c.n * c.gamma)) if c.gamma > 0 else math.nan,
       True, False, 1, "norms", "log(R_A ‖X‖_F / (n γ)) (weights only)", "Bartlett et al. 2017"),
    _M("path_norm", lambda c: _path(c, 2.0, squared=True), False, False, 1, "cheap",
       "Σ_paths ∏ w_e² = f_{w²}(1), biases squared too", "Neyshabur et al. 2015; Jiang et al. 2020"),
    _M("path_norm_over_margin", lambda c: _over_gamma(float(_path(c, 2.0, squared=True).value), c),
       True, False, 1, "forward", "f_{w²}(1) / γ², biases squared too"),
    _M("l1_path_norm", lambda c: _path(c, 1.0), False, False, 1, "cheap",
       "Σ_paths ∏ |w_e| = f_{|w|}(1), biases included", "Neyshabur et al. 2015"),
    _M("pacbayes_flatness", lambda c: _inv_sq(c.sigma(False), "pacbayes_flatness"), True, False, 1, "expensive",
       "1/σ′², E acc(w+u) ≥ acc(w) − 0.1, u ~ N(0, σ′²I)"),
    _M("pacbayes_init", lambda c: _pacbayes_bound_term(c, c.sigma(False), param_distance(c.model, c.init)),
       True, True, 1, "expensive", "‖w − w⁰‖²/(4σ′²) + log(n/σ′) + 10"),
    _M("pacbayes_orig", lambda c: _pacbayes_bound_term(c, c.sigma(False), param_norm(c.model)),
       True, False, 1, "expensive", "‖w‖²/(4σ′²) + log(n/σ′) + 10"),
    _M("pacbayes_mag_flatness", lambda c: _inv_sq(c.sigma(True), "pacbayes_mag_flatness"), True, False, 1,
       "expensive", "1/σ′², u_i ~ N(0, σ′² w_i² + ε²)"),
    _M("sharpness_flatness", lambda c: _inv_sq(c.alpha(False), "sharpness_flatness"), True, False, 1, "expensive",
       "1/α′², worst case over |u_i| ≤ α′ costs ≤ 0.1 accuracy"),
    _M("sharpness_mag_flatness", lambda c: _inv_sq(c.alpha(True), "sharpness_mag_flatness"), True, False, 1,
       "expensive", "1/α′², worst case over |u_i| ≤ α′(|w_i| + ε)"),
    _M("keskar_sharpness", lambda c: _keskar(c, False), True, False, 1, "expensive",
       "Metric 2.1, full space", "Keskar et al. 2017"),
    _M("keskar_sharpness_subspace", lambda c: _keskar(c, True), True, False, 1, "expensive",
       "Metric 2.1, random 100-dim subspace", "Keskar et al. 2017"),
]}


def measure_all(model: nn.Module, init_model: nn.Module | None, dataset, *, names=None, max_cost: str = "expensive",
                seed: int = 0, options: dict | None = None) -> dict[str, Result]:
    """Compute registry measures of ``model`` on ``dataset`` (uses ``x_train``, ``y_train``, ``input_shape``).

    ``init_model``: the network at initialization, or ``None`` to skip measures that need it.
    ``names``: a subset of :data:`MEASURES` (default all); ``max_cost``: skip costlier measures.
    ``options``: ``margin_percentile`` (10), ``flatness_examples`` (a seeded subset size for the
    flatness searches), ``path_norm_biases`` (``"included"``, Jiang et al.'s convention, or
    ``"excluded"``), ``param_norm`` (``"weights"``, Jiang et al.'s, or ``"all"``), and keyword
    dicts ``pacbayes``, ``sharpness``, ``keskar`` passed to
    :func:`pacbayes_sigma`, :func:`worst_case_sharpness`, :func:`keskar_sharpness`.
    Every instrument restores the model, so ``model`` comes back bit-identical.
    """
    if max_cost not in COSTS:
        raise ValueError(f"max_cost must be one of {COSTS}")
    options = dict(options or {})
    ctx = _Context(model, init_model, dataset, seed, options)
    out = {}
    for name in (names if names is not None else MEASURES):
        meas = MEASURES[name]
        if COSTS.index(meas.cost) > COSTS.index(max_cost) or (meas.needs_init and init_model is None):
            continue
        res = meas.fn(ctx)
        if not isinstance(res, Result):
            res = Result(name, float(res))
        settings = {"sign": meas.sign, "cost": meas.cost, "formula": meas.formula, "paper": meas.paper,
                    "seed": seed, **res.settings}
        if meas.needs_data:
            settings["gamma"] = ctx.gamma if "gamma" in ctx.__dict__ else None
        out[name] = Result(name, res.value, res.stderr, settings, res.extra)
    return out


def generalization_gap(model: nn.Module, dataset, *, batch_size: int = 1024) -> Result:
    """Train accuracy − test accuracy (eval mode), with the two accuracies in ``extra``."""
    acc = {}
    for split in ("train", "test"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        m = margins(model, x, y, batch_size=batch_size)
        acc[split] = float((m > 0).double().mean())
    return Result("generalization_gap", acc["train"] - acc["test"], settings={"mode": "eval"},
                  extra={"train_acc": acc["train"], "test_acc": acc["test"]})
