"""The measures ``dlscope measure --what`` knows, each one call into :mod:`dlscope.measure`.

Every entry returned is a plain dict: ``measure`` (the ``--what`` key), ``quantity`` (what the
number is, in words), ``value``, ``stderr`` (``None`` when exact), ``seed`` (``None`` when nothing
is drawn), ``settings`` (everything the instrument recorded: mode, dtype, data hash, …) and
``status``: ``measured``, or ``refused`` with a one-line ``reason`` when the instrument declines
the model (a chain measure — R_A, the margin bound, the path norm — on a structure it does not
account for raises ``ValueError``; that is reported, not fatal).

Costs are set by :data:`OPTIONS` (recorded in every entry's settings; ``--option key=value``).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch
from torch import nn

from .. import measure as M
from ..report.figures import assess as figs

__all__ = ["WHAT", "OPTIONS", "Context"]

OPTIONS = {
    "top_k": 3,                # hessian-top: eigenvalues wanted
    "lanczos_tol": 1e-4,       # hessian-top, per-layer: relative error bound at which Lanczos stops
    "trace_matvecs": 99,       # trace: Hutch++ products (three thirds)
    "density_steps": 60,       # density: Lanczos steps per SLQ probe
    "density_probes": 5,       # density: probes
    "slice_steps": 21,         # slice2d: grid points per axis
    "slice_span": 1.0,         # slice2d: α, β ∈ [−span, span] along filter-normalized directions
    "pacbayes_samples": 10,    # pacbayes: Monte Carlo draws per σ
    "layer_trace_matvecs": 30,  # per-layer: Hutch++ products per block
    "dense_block": 64,         # per-layer: blocks of at most this many parameters are formed densely (exact)
}


@dataclasses.dataclass
class Context:
    """What every measure reads: the model, the examples, the loss, the seed, the options; figures out."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    loss_fn: Callable
    seed: int
    options: dict
    figures: list = dataclasses.field(default_factory=list)  # (file name, Figure, caption)
    _op: object = None

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    def hessian(self):
        if self._op is None:
            self._op = M.hessian(self.model, self.loss_fn, (self.x, self.y))
        return self._op


def _entry(measure: str, quantity: str, res: M.Result | None = None, *, value=None, stderr=None, seed=None,
           settings=None, **extra) -> dict:
    v = value if value is not None or res is None else res.value
    if isinstance(v, (np.ndarray, torch.Tensor)):
        v = np.asarray(v).tolist()
    return {"measure": measure, "quantity": quantity, "status": "measured", "value": v,
            "stderr": res.stderr if res is not None and stderr is None else stderr, "seed": seed,
            "settings": {**(res.settings if res is not None else {}), **(settings or {})}, **extra}


def refused(measure: str, quantity: str, reason: str) -> dict:
    return {"measure": measure, "quantity": quantity, "status": "refused", "value": None, "stderr": None,
            "seed": None, "settings": {}, "reason": " ".join(str(reason).split())}


def margins(ctx: Context) -> list[dict]:
    m = M.margins(ctx.model, ctx.x, ctx.y).double()
    gamma = M.margin_percentile(m, 10.0)
    ctx.figures.append(("margins.png", figs.margin_density(m.cpu().numpy(), gamma),
                        "Density of the margins f(x)_y − max_{j≠y} f(x)_j on the measured examples; dashed: 0 "
                        "(left of it: misclassified), dotted: the 10th percentile γ. Look for mass left of 0 "
                        "and how far right the bulk sits."))
    return [_entry("margins", "10th percentile of the margins γ (Jiang et al. 2020)", value=gamma,
                   settings={"mode": "eval", "n": len(m)}, mean=float(m.mean()), median=float(m.median()),
                   error_rate=float((m <= 0).double().mean()))]


def spectral(ctx: Context) -> list[dict]:
    q = "spectral complexity R_A (Bartlett, Foster & Telgarsky 2017, eq. 1.2)"
    try:
        res = M.spectral_complexity(ctx.model, ctx.input_shape, seed=ctx.seed)
    except ValueError as e:
        return [refused("spectral", q, e)]
    return [_entry("spectral", q, res, prod_spec=res.extra["prod_spec"], frobenius_variant=res.extra["frobenius_variant"],
                   depth=res.extra["depth"])]


def bounds(ctx: Context) -> list[dict]:
    qb = "spectrally-normalized margin bound on the test error (Bartlett et al. 2017, with constants)"
    out = []
    try:
        res = M.spectral_margin_bound(ctx.model, ctx.x, ctx.y)
        out.append(_entry("bounds", qb, res, vacuous=res.extra["vacuous"], gamma=res.extra["gamma"],
                          margin_error=res.extra["margin_error"]))
    except ValueError as e:
        out.append(refused("bounds", qb, e))
    qp = "ℓ2 path norm (Neyshabur, Tomioka & Srebro 2015)"
    try:
        out.append(_entry("bounds", qp, M.path_norm(ctx.model, ctx.input_shape)))
    except ValueError as e:
        out.append(refused("bounds", qp, e))
    out.append(_entry("bounds", "‖θ‖₂ over all trainable parameters", value=M.param_norm(ctx.model),
                      settings={"num_params": M.param_count(ctx.model)}))
    return out


def hessian_top(ctx: Context) -> list[dict]:
    k = int(ctx.options["top_k"])
    res = M.top_eigenvalues(ctx.hessian(), k=k, tol=ctx.options["lanczos_tol"], seed=ctx.seed)
    return [_entry("hessian-top", f"top {k} Hessian eigenvalues (Lanczos)", res, stderr=res.extra["error_bounds"],
                   seed=ctx.seed, converged=res.extra["converged"], num_matvecs=res.extra["num_matvecs"])]


def trace(ctx: Context) -> list[dict]:
    res = M.trace(ctx.hessian(), num_matvecs=int(ctx.options["trace_matvecs"]), seed=ctx.seed)
    return [_entry("trace", "tr H, Hutch++ (Meyer et al. 2021)", res, seed=ctx.seed)]


def density(ctx: Context) -> list[dict]:
    res = M.spectral_density(ctx.hessian(), lanczos_steps=int(ctx.options["density_steps"]),
                             num_probes=int(ctx.options["density_probes"]), seed=ctx.seed)
    ctx.figures.append(("hessian_density.png", figs.hessian_density(res.extra["grid"], res.value),
                        "Hessian eigenvalue density by stochastic Lanczos quadrature (log scale). Look for a bulk "
                        "near 0 and outliers to the right (Ghorbani et al. 2019; Papyan 2019); mass left of 0 "
                        "means the point is not a minimum."))
    return [_entry("density", "fraction of Hessian eigenvalue mass below 0 (SLQ)", value=res.extra["negative_fraction"],
                   stderr=res.extra["negative_fraction_stderr"], seed=ctx.seed, settings=res.settings,
                   moments=res.extra["moments"])]


def slice2d(ctx: Context) -> list[dict]:
    span, steps = float(ctx.options["slice_span"]), int(ctx.options["slice_steps"])
    res = M.slice_2d(ctx.model, ctx.loss_fn, (ctx.x, ctx.y), span=(-span, span), steps=steps, seed=ctx.seed)
    grid = np.asarray(res.value)
    ctx.figures.append(("slice2d.png", figs.slice_contours(res.extra["alphas"], res.extra["betas"], grid),
                        "Loss on a plane through θ along two filter-normalized Gaussian directions (Li et al. "
                        "2018); the cross is θ. Look for whether θ sits in a basin and how wide it is."))
    c = grid[len(grid) // 2, grid.shape[1] // 2]
    return [_entry("slice2d", "loss at θ on the 2-D slice (grid min / max in extra)", res, value=float(c),
                   seed=ctx.seed, grid_min=float(grid.min()), grid_max=float(grid.max()))]


def pacbayes(ctx: Context) -> list[dict]:
    res = M.pacbayes_sigma(ctx.model, (ctx.x, ctx.y), samples=int(ctx.options["pacbayes_samples"]), seed=ctx.seed)
    return [_entry("pacbayes", "PAC-Bayes σ′: largest weight noise costing ≤ 10% accuracy (Jiang et al. 2020)", res,
                   seed=ctx.seed, converged=res.extra.get("converged"))]


def weights(ctx: Context) -> list[dict]:
    res = M.weight_spectra(ctx.model, ctx.input_shape)
    ctx.figures.append(("weight_spectra.png", figs.weight_esd(res.extra["eigenvalues"], res.extra["layers"]),
                        "Per layer: the eigenvalues of WᵀW of the layer's linear map (log-log histogram), the fitted "
                        "power law from x_min (red) and the Marchenko–Pastur bulk edge λ₊ of a random matrix of the "
                        "same shape (dashed). Heavy tails past λ₊ are structure a random layer lacks (Martin & "
                        "Mahoney 2021); smaller α, heavier tail."))
    return [_entry("weights", "mean power-law α of the layers' ESDs (Martin & Mahoney 2021)", res,
                   layers=res.extra["layers"], skipped=res.extra["skipped"])]


WHAT: dict[str, Callable[[Context], list[dict]]] = {
    "margins": margins, "spectral": spectral, "bounds": bounds, "hessian-top": hessian_top, "trace": trace,
    "density": density, "slice2d": slice2d, "pacbayes": pacbayes, "weights": weights,
}
