"""A non-vacuous PAC-Bayes bound optimized on a trained net (Dziugaite & Roy 2017), data-free or
data-dependent prior (Pérez-Ortiz, Rivasplata, Shawe-Taylor & Szepesvári 2021).

Dziugaite & Roy, "Computing nonvacuous generalization bounds for deep (stochastic) neural networks
with many more parameters than training data" (UAI 2017; code ``gkdziugaite/pacbayes-opt``):

1. Posterior Q = N(μ, diag s²) started at the trained weights w, prior P_λ = N(μ_p, λI) with μ_p
   the initialization w₀ (``prior="init"``), any fixed net, or a mean learnt on a held-out part of
   the training set (``prior="data"``, :mod:`.prior`; the bound then uses the other n examples).
2. μ, s and λ are optimized by Adam on a differentiable objective (:mod:`.objective`: Pinsker's
   relaxation as in §3 of the paper, or f_quad of Pérez-Ortiz et al.) with one draw of the net per
   minibatch; λ pays for being chosen through the grid λ_j = c e^{−j/b} (b = 100, c = 0.1) and the
   union bound δ_j = 6δ/(π²j²) (:mod:`.certificate`).
3. Certificate, with probability ≥ 1 − δ over the sample and the Monte-Carlo draws (δ = δ_PB + δ′):
   ê_Q, the 0-1 error of Q on the n bound examples, is estimated with fresh networks drawn per batch
   of ``mc_batch`` examples, ``mc_samples`` draws per batch; ê⁺ = kl⁻¹(ê, ln(2/δ′)/N) with N the
   number of (draw, batch) errors when the batches have equal sizes (independent [0, 1] variables
   with mean ê_Q), else N = ``mc_samples``; then
       e_Q ≤ min_j kl⁻¹(ê⁺, (KL(Q‖P_{λ_j}) + ln(2√n/δ_PB) + 2 ln j + ln(π²/6)) / n),
   KL in float64, δ′ = ``delta_mc`` = 0.01 as in both papers' code (D&R: δ = 0.025 + 0.01).
   Every term is in ``extra``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from .._core.data import as_tensors, data_hash, split_batches
from .._core.params import ParamSpace
from .._core.result import Result
from .._core.risk import Evaluator, classification_error
from .._core.state import mode_settings, preserved, snapshot, using_mode
from ..bounds.bartlett2017 import reinitialized
from .certificate import best_grid_point, mc_error_bound, pacbayes_kl_bound
from .objective import OBJECTIVES
from .optimize import noise_generator, normal, optimize_posterior, stream_seed
from .prior import learnt_prior, prior_mean, split

__all__ = ["pacbayes_bound"]


def _snn_errors(model, loss_fn, error_fn, data, mu, s, *, draws, batch, mode, buffers, seed, stream, chunk=16):
    """errs[k, b]: 0-1 error on batch b of a network drawn from N(μ, diag s²), fresh per (k, b); batch sizes."""
    batches = split_batches(data, batch)
    errs = np.zeros((draws, len(batches)))
    for b, part in enumerate(batches):
        ev = Evaluator(model, loss_fn, part, mode=mode, error_fn=error_fn, buffers=buffers)
        g = noise_generator(stream_seed(seed, stream, b), mu)
        for k in range(0, draws, chunk):
            m = min(chunk, draws - k)
            z = normal((m, mu.numel()), g, mu)
            errs[k:k + m, b] = ev(mu + s * z)[1]
    return errs, [int(p[1].shape[0]) for p in batches]


def _summary(errs, sizes):
    """(mean error Σ_b w_b ē_b, its standard error √(Σ_b w_b² s_b² / K) from the variances s_b² over the
    K draws of each batch (independent across batches), N credited to the kl-inverse)."""
    w = np.asarray(sizes, float) / sum(sizes)
    k = errs.shape[0]
    se = float(math.sqrt((w ** 2 * errs.var(axis=0, ddof=1)).sum() / k)) if k > 1 else math.inf
    count = errs.size if len(set(sizes)) == 1 else k
    return float((errs @ w).mean()), se, count


def pacbayes_bound(model: nn.Module, loss_fn: Callable, train_data, *, prior="init", init: nn.Module | None = None,
                   test_data=None, delta: float = 0.05, delta_mc: float = 0.01, objective: str = "quad",
                   steps: int = 2000, lr: float = 1e-2, lr_mean: float = 3e-4, batch_size: int = 100,
                   sigma_init: float = 0.01, prior_var_init: float | None = None, train_mean: bool = True,
                   start: str | None = None, mc_samples: int = 100, mc_batch: int = 100, test_samples: int = 10,
                   prior_fraction: float = 0.5, prior_epochs: float = 10.0, prior_lr: float = 0.01,
                   prior_momentum: float = 0.9, prior_batch: int = 100,
                   grid_b: float = 100.0, grid_c: float = 0.1, error_fn: Callable = classification_error,
                   mode: str = "eval", seed: int = 0, return_posterior: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> Result:
    """The optimized PAC-Bayes certificate on the 0-1 error of a stochastic version of ``model``.

    ``loss_fn``: the differentiable surrogate the objective uses (e.g. :func:`bounded_cross_entropy`;
    any loss works, only the certificate is a bound). ``prior``: ``"init"`` (mean = ``init``, the
    model at initialization θ₀), ``"data"`` (mean learnt by SGD on a seeded ``prior_fraction`` of the
    data from ``init`` — or a seeded fresh initialization — for ``prior_epochs`` epochs) or an
    ``nn.Module`` of the same architecture chosen without the data. ``start``: the posterior mean's
    start, ``"model"`` (the trained weights; default for data-free priors) or ``"prior"`` (default
    for ``"data"``, as Pérez-Ortiz et al.). ``delta``: total failure probability, ``delta_mc`` of it
    for the Monte-Carlo estimate. ``test_data``: also estimate the stochastic net's test error
    (``test_samples`` draws per batch). The model is only read (restored bit-identically).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not 0 < delta_mc < delta < 1:
        raise ValueError(f"need 0 < delta_mc < delta < 1, got delta={delta}, delta_mc={delta_mc}")
    for name, v in (("steps", steps + 1), ("batch_size", batch_size), ("mc_samples", mc_samples),
                    ("mc_batch", mc_batch), ("test_samples", test_samples), ("prior_batch", prior_batch)):
        if v < 1:
            raise ValueError(f"{name} must be ≥ {1 if name != 'steps' else 0}, got {v if name != 'steps' else steps}")
    if not sigma_init > 0 or (prior_var_init is not None and not prior_var_init > 0):
        raise ValueError("sigma_init and prior_var_init must be > 0")
    delta_pb = delta - delta_mc
    with preserved(model):
        space = ParamSpace(model)
        fixed, buffers = snapshot(model)
        x, y = (t.to(space.device) for t in as_tensors(train_data))
        w = space.flatten(fixed).detach()
        bound_idx, n_prior, prior_kind = torch.arange(len(y), device=y.device), 0, None
        if isinstance(prior, nn.Module):
            mu_p, prior_kind = prior_mean(space, prior, "prior"), "module"
        elif prior == "init":
            if init is None:
                raise ValueError("prior='init' needs init= (the model at initialization, θ₀)")
            mu_p, prior_kind = prior_mean(space, init, "init"), "init"
        elif prior == "data":
            p_idx, bound_idx = (i.to(y.device) for i in split(len(y), prior_fraction, seed))
            net0 = init if init is not None else reinitialized(model, seed)
            net = learnt_prior(net0, loss_fn, x[p_idx], y[p_idx], epochs=prior_epochs, lr=prior_lr,
                               momentum=prior_momentum, batch_size=prior_batch, seed=seed)
            mu_p, prior_kind, n_prior = prior_mean(space, net, "the learnt prior"), "data", len(p_idx)
        else:
            raise ValueError(f"prior must be 'init', 'data' or an nn.Module, got {prior!r}")
        start = start or ("prior" if prior_kind == "data" else "model")
        if start not in ("model", "prior"):
            raise ValueError(f"start must be 'model' or 'prior', got {start!r}")
        xb, yb = x[bound_idx], y[bound_idx]
        n = len(yb)
        test = None if test_data is None else tuple(t.to(space.device) for t in as_tensors(test_data))
        mc_units = mc_samples * -(-n // mc_batch) + (test_samples * -(-len(test[1]) // mc_batch) if test else 0)
        total = steps + mc_units

        mu0 = w if start == "model" else mu_p
        d = w.numel()
        if prior_var_init is None:  # the λ that minimizes KL(Q₀‖P_λ): (Σ s₀² + ‖μ₀ − μ_p‖²)/d
            prior_var_init = sigma_init ** 2 + float((mu0.double() - mu_p.double()).pow(2).sum()) / d
        with using_mode(model, mode):
            mu, log_s, _, history = optimize_posterior(
                model, space, fixed, buffers, loss_fn, x, y, mu0=mu0, mu_p=mu_p, log_s0=math.log(sigma_init),
                log_lam0=math.log(prior_var_init), kind=objective, n=n, delta=delta_pb, b=grid_b, c=grid_c,
                steps=steps, lr=lr, lr_mean=lr_mean, train_mean=train_mean, batch_size=batch_size, seed=seed,
                progress=progress, total=total)

        s = torch.exp(log_s)
        sq = float((s.double() ** 2).sum() + (mu.double() - mu_p.double()).pow(2).sum())
        sum_log_var = float(2 * log_s.double().sum())

        def kl_of(lam):
            return 0.5 * (sq / lam - d + d * np.log(lam) - sum_log_var)

        errs, sizes = _snn_errors(model, loss_fn, error_fn, (xb, yb), mu, s, draws=mc_samples, batch=mc_batch,
                                  mode=mode, buffers=buffers, seed=seed, stream=3)
        e_hat, e_se, count = _summary(errs, sizes)
        e_plus = mc_error_bound(e_hat, count, delta_mc)
        best = best_grid_point(kl_of, e_plus, n, delta_pb, b=grid_b, c=grid_c)
        ev = Evaluator(model, loss_fn, split_batches((xb, yb), 4096), mode=mode, error_fn=error_fn, buffers=buffers)
        det = ev(torch.stack([w, mu]))[1]
        extra = {"kl": best["kl"], "lambda": best["lambda"], "j": best["j"], "grid_cost": best["grid_cost"],
                 "n": n, "n_prior": n_prior, "prior": prior_kind, "start": start,
                 "snn_train_error": e_hat, "snn_train_error_stderr": e_se, "snn_train_error_bound": e_plus,
                 "mc_count": count, "mc_batches": len(sizes), "equal_batches": len(set(sizes)) == 1,
                 "delta_pacbayes": delta_pb, "delta_mc": delta_mc,
                 "log_term": math.log(2 * math.sqrt(n) / delta_pb),
                 "pinsker_bound": e_plus + math.sqrt((best["kl"] + math.log(2 * math.sqrt(n) / delta_pb)
                                                      + best["grid_cost"]) / (2 * n)),
                 "bound_without_mc": pacbayes_kl_bound(e_hat, best["kl"], n, delta_pb, best["grid_cost"]),
                 "model_train_error": float(det[0]), "mean_train_error": float(det[1]),
                 "posterior_std": {"median": float(s.median()), "mean": float(s.mean()), "min": float(s.min()),
                                   "max": float(s.max())},
                 "distance_to_prior": float((mu - mu_p).norm()), "distance_moved": float((mu - w).norm()),
                 "num_params": d, "history": history}
        if prior_kind == "data":
            pe = Evaluator(model, loss_fn, split_batches((xb, yb), 4096), mode=mode, error_fn=error_fn,
                           buffers=buffers)
            extra["prior_bound_error"] = float(pe(mu_p[None])[1][0])
        if test is not None:
            terrs, tsizes = _snn_errors(model, loss_fn, error_fn, test, mu, s, draws=test_samples,
                                        batch=mc_batch, mode=mode, buffers=buffers, seed=seed, stream=4)
            extra["snn_test_error"], extra["snn_test_error_stderr"], _ = _summary(terrs, tsizes)
        if return_posterior:
            extra["posterior_mean"], extra["posterior_std_vector"], extra["prior_mean"] = mu, s, mu_p
        if progress:
            progress(total, total)
        settings = {**mode_settings(model, mode), "seed": seed, "delta": delta, "delta_mc": delta_mc,
                    "objective": objective, "steps": steps, "lr": lr, "lr_mean": lr_mean, "batch_size": batch_size,
                    "sigma_init": sigma_init, "prior_var_init": prior_var_init, "train_mean": train_mean,
                    "mc_samples": mc_samples, "mc_batch": mc_batch, "test_samples": test_samples,
                    "prior_fraction": prior_fraction if prior_kind == "data" else None,
                    "prior_epochs": prior_epochs if prior_kind == "data" else None,
                    "prior_lr": prior_lr if prior_kind == "data" else None,
                    "prior_batch": prior_batch if prior_kind == "data" else None,
                    "grid_b": grid_b, "grid_c": grid_c, "dtype": str(space.dtype).removeprefix("torch."),
                    "data_hash": data_hash([(x, y)]), "num_examples": len(y)}
    return Result("pacbayes_bound", best["bound"], None, settings, extra)
