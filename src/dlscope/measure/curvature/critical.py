"""Critical points by minimizing the gradient norm, and the index of a critical point.

Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio, "Identifying and attacking the saddle point
problem in high-dimensional non-convex optimization", NeurIPS 2014 (Fig. 1), following Bray &
Dean 2007: in high dimension, critical points with high loss are saddles with many negative
curvature directions, and the index α (fraction of negative Hessian eigenvalues) grows with
the loss ε. Critical points at many loss levels are found, as in Pennington & Bahri (ICML 2017),
by driving the gradient to zero,

    g(θ) = ‖∇L(θ)‖²,   ∇g(θ) = 2 H(θ) ∇L(θ),

which is zero at *every* critical point (minimum or saddle), from several starting points.
Dauphin et al. used a Newton-type method. The default here is Newton-MR (Roosta et al.: MINRES
steps on H p = −∇L in a Krylov space of H, Armijo search on ‖∇L‖², :mod:`.newton`);
``"levenberg-marquardt"`` (damped Newton on ∇L = 0) converged from more starts on a smooth tanh
MLP (7/10 against 6/10) but from fewer on the ReLU MLP of dauphin2014's quick run (2/5 against 3/5,
to ≤ 10⁻⁶ of the start); ``"adam"`` (first-order descent on g, the old search) stalled at
‖∇L‖ ≈ 0.1–0.4 of its start. Any search on ‖∇L‖² can also end at a
gradient-flat point (∇L ≠ 0 in the near-null space of H), so the result reports the final ‖∇L‖
relative to the start and whether it met ``tol``: callers must accept only those points.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from .._core.data import as_batches, batch_weights, data_hash
from .._core.result import Result
from .._core.risk import Evaluator
from .._core.state import mode_settings, using_mode
from .counting import fraction_below
from .lanczos import top_eigenvalues
from .newton import load_flat, newton_search
from .operator import hessian

__all__ = ["minimize_gradient_norm", "hessian_index"]

METHODS = ("newton-mr", "levenberg-marquardt", "adam")


def minimize_gradient_norm(model: nn.Module, loss_fn: Callable, data, *, method: str = "newton-mr",
                           steps: int = 100, tol: float = 1e-8, lr: float = 1e-3, inner_steps: int = 200,
                           inner_tol: float = 1e-2, mode: str = "eval") -> tuple[nn.Module, Result]:
    """Return (a copy of ``model`` moved toward a critical point, Result); ``model`` itself is not touched.

    Args:
        method: ``"newton-mr"`` (default) or ``"levenberg-marquardt"`` (see :mod:`.newton`), or
            ``"adam"`` (Adam with learning rate ``lr`` on ‖∇L‖², full batch, double backward).
        steps: at most this many iterations (Newton-type iterations, or Adam steps).
        tol: stop once ‖∇L‖ ≤ tol·‖∇L(start)‖; ``extra["converged"]`` says whether it was met.
        inner_steps, inner_tol: at most ``inner_steps`` Lanczos steps (Hessian products) per iteration,
            fewer once the least-squares sub-problem meets ‖H r‖ ≤ inner_tol·‖H ∇L‖ (Roosta et al.).

    Result: value = final ‖∇L‖; extra: loss, initial ‖∇L‖ and loss, ``relative_grad_norm``,
    ``converged``, ``stalled`` (no progress: a gradient-flat point), ``iterations``,
    ``num_matvecs``, and the history of ‖∇L‖ (``history_grad_norm``). Deterministic (full batch).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    batches = as_batches(data)
    net = copy.deepcopy(model)
    if method == "adam":
        loss, gn, rec = _adam(net, loss_fn, batches, steps, lr, tol, mode)
    else:
        ev = Evaluator(net, loss_fn, batches, mode=mode)
        first = [True]

        def operator_at(theta):
            load_flat(net, ev.space, theta)
            check, first[0] = first[0], False  # the determinism check once, at the start
            return hessian(net, loss_fn, batches, mode=mode, check_deterministic=check)

        theta, loss, gn, rec = newton_search(ev, operator_at, ev.theta(), method=method, steps=steps, tol=tol,
                                             inner_steps=inner_steps, inner_tol=inner_tol)
        load_flat(net, ev.space, theta)
    gn0 = rec["initial_grad_norm"]
    settings = {**mode_settings(model, mode), "method": method, "steps": steps, "tol": tol,
                "data_hash": data_hash(batches)}
    settings.update({"lr": lr} if method == "adam" else {"inner_steps": inner_steps, "inner_tol": inner_tol})
    rel = gn / gn0 if gn0 > 0 else 0.0
    return net, Result("gradient_norm", gn, None, settings,
                       {"loss": loss, "initial_grad_norm": gn0, "initial_loss": rec["initial_loss"],
                        "relative_grad_norm": rel, "converged": rel <= tol, "stalled": rec.get("stalled", False),
                        "iterations": rec["iterations"], "num_matvecs": rec["num_matvecs"],
                        "history_grad_norm": rec["grad_norms"]})


def _adam(net, loss_fn, batches, steps, lr, tol, mode):
    """Adam on ‖∇L‖² with full-batch double-backward gradients (the first-order search)."""
    weights = batch_weights(batches)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in net.named_parameters()}
    buffers = dict(net.named_buffers())
    opt = torch.optim.Adam(params.values(), lr=lr)

    def loss_and_grad(create_graph: bool):
        loss = sum(w * loss_fn(functional_call(net, (params, buffers), (x,)), y) for w, (x, y) in zip(weights, batches))
        return loss, torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)

    history, iterations = [], 0
    with using_mode(net, mode):
        loss0, g = loss_and_grad(False)
        gn0 = float(torch.sqrt(sum((gi ** 2).sum() for gi in g)))
        for step in range(steps):
            loss, g = loss_and_grad(True)
            gn2 = sum((gi ** 2).sum() for gi in g)
            if step % max(1, steps // 20) == 0:
                history.append(float(gn2.detach()) ** 0.5)
            if float(gn2.detach()) ** 0.5 <= tol * gn0:
                break
            opt.zero_grad()
            gn2.backward()
            opt.step()
            iterations += 1
        loss, g = loss_and_grad(False)
        gn = float(torch.sqrt(sum((gi ** 2).sum() for gi in g)))
    with torch.no_grad():
        for k, p in net.named_parameters():
            p.copy_(params[k])
    rec = {"initial_grad_norm": gn0, "initial_loss": float(loss0.detach()), "grad_norms": history + [gn],
           "iterations": iterations, "num_matvecs": 0}
    return float(loss.detach()), gn, rec


def hessian_index(model: nn.Module, loss_fn: Callable, data, *, rel_threshold: float = 1e-3,
                  dense_limit: int = 4000, lanczos_steps: int = 300, num_probes: int = 8, tol: float = 0.005,
                  seed: int = 0, mode: str = "eval") -> Result:
    """Index α = fraction of Hessian eigenvalues below −τ, τ = ``rel_threshold`` · λ_max (Dauphin et al. 2014).

    The threshold matters: near a minimum of an over-parameterized net most eigenvalues are
    ≈ 0 (measured on a 2.7k-parameter MLP at training loss 1e-3: 35% of eigenvalues are < 0,
    but only 1.3% are < −10⁻³ λ_max), and counting their signs would report rounding and
    degeneracy as "negative curvature". Exact (dense eigendecomposition in float64) when the
    model has at most ``dense_limit`` parameters. Otherwise λ_max comes from Lanczos and the
    fraction from :func:`~dlscope.measure.curvature.counting.fraction_below`: per probe, up to
    ``lanczos_steps`` Lanczos steps until the Gauss–Radau bracket of the count is narrower than
    2·``tol``; value = mean bracket midpoint, stderr = sampling stderr + half the mean bracket
    half-width (value ± 2·stderr contains the rigorous bracket ± 2 sampling stderrs). The old
    Gauss-rule count (60 steps) was off by 0.2–0.25 on net Hessians, whose eigenvalues crowd the
    threshold (0.63 against an exact 0.38 on a 2.7k tanh MLP, 0.61 against 0.42 on a 4.8k ReLU MLP on
    mnist1d, both at initialization), with an error bar of 0.01–0.02 that ignored it;
    ``extra["resolved"]`` says whether the bracket met ``tol`` within the step budget (if not,
    the error bar is wide, honestly: use more steps or the dense path). Cost: at most
    ``num_probes``·``lanczos_steps`` products; memory: the Lanczos basis, ``lanczos_steps`` × n
    float64 (one probe at a time).
    """
    op = hessian(model, loss_fn, data, mode=mode)
    n = op.shape[0]
    if n <= dense_limit:
        ev = torch.linalg.eigvalsh(op.to_dense().double())
        tau = rel_threshold * float(ev[-1].clamp_min(0))
        frac = float((ev < -tau).double().mean())
        return Result("hessian_index", frac, None,
                      {**op.settings, "method": "dense", "rel_threshold": rel_threshold, "threshold": tau},
                      {"lambda_min": float(ev[0]), "lambda_max": float(ev[-1]), "num_params": n})
    # λ_max to 1e-3 relative: the threshold moves by at most 1e-6 λ_max, far inside the bracket.
    lam = float(top_eigenvalues(op, k=1, tol=1e-3, seed=seed).value[0])
    tau = rel_threshold * max(lam, 0.0)
    r = fraction_below(op, -tau, max_steps=lanczos_steps, tol=tol, num_probes=num_probes, seed=seed)
    keep = ("bracket", "halfwidth", "sampling_stderr", "interval", "resolved", "steps", "num_matvecs")
    return Result("hessian_index", r.value, r.stderr,
                  {**r.settings, "method": "slq", "count": "gauss-radau-bracket", "rel_threshold": rel_threshold,
                   "threshold": tau},
                  {"lambda_max": lam, "num_params": n, **{k: r.extra[k] for k in keep}})
