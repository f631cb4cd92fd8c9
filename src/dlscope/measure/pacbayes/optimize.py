"""The posterior optimization of a PAC-Bayes bound (Dziugaite & Roy 2017, §3): Adam on (μ, ln s, ln λ).

One step draws z ~ N(0, I) (seeded by the step), sets θ = μ + s ⊙ z (the reparametrization trick),
takes the surrogate loss L̂ of the net at θ on one minibatch and the objective f(L̂, B) of
:mod:`.objective`. Only the data term goes through autograd (g = ∂L̂/∂θ, one backward pass of the
net); the KL term's gradients are written out, which saves most of the elementwise passes over the
d parameters on a CPU (same numbers as autograd through the whole objective, tested):

    ∂KL/∂μ = (μ − μ_p)/λ,   ∂KL/∂ln s = s²/λ − 1,   ∂KL/∂ln λ = ½ (d − (Σ s² + ‖μ − μ_p‖²)/λ),
    ∂L̂/∂μ = g,             ∂L̂/∂ln s = g ⊙ s ⊙ z,

combined with the scalar partials ∂f/∂L̂, ∂f/∂KL, ∂f/∂ln λ (the union-bound charge depends on λ) in
closed form (:func:`.objective.objective_partials`). Every d-sized sum is accumulated by torch in the
parameters' dtype and only the scalars are combined in Python floats.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .._core.params import ParamSpace, call
from .._core.random import generator
from .objective import objective_partials

__all__ = ["optimize_posterior", "posterior_gradients", "stream_seed", "noise_generator", "normal"]


def stream_seed(seed: int, stream: int, index: int) -> int:
    """A seed for draw ``index`` of random stream ``stream`` (batch order, weight noise, MC draws)."""
    return ((seed * 1_000_003 + stream) * 1_000_003 + index) % (2 ** 63)


def noise_generator(seed: int, like: torch.Tensor) -> torch.Generator:
    """A seeded generator for weight noise: on the CPU (the same numbers on every device, as
    :mod:`.._core.random`) except on CUDA, where a CUDA generator draws it — one draw per step of
    d ≈ 10⁶ numbers made on the CPU and copied over would cost more than the step itself there."""
    if like.device.type == "cuda":
        return torch.Generator(device=like.device).manual_seed(seed)
    return generator(seed)


def normal(shape, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """z ~ N(0, I) of ``shape`` from ``gen`` (:func:`noise_generator`), in ``like``'s dtype and device."""
    if gen.device.type == "cuda":
        return torch.randn(shape, generator=gen, device=gen.device, dtype=like.dtype)
    return torch.randn(shape, generator=gen, dtype=torch.float32).to(like.device, like.dtype)


def posterior_gradients(g, z, surrogate: float, mu, log_s, log_lam, mu_p, *, kind: str, n: int, delta: float,
                        b: float, c: float, s=None):
    """((∂f/∂μ, ∂f/∂ln s, ∂f/∂ln λ), f, KL, λ) from g = ∂L̂/∂θ at θ = μ + s ⊙ z (module docstring)."""
    d = mu.numel()
    s = torch.exp(log_s) if s is None else s
    diff = mu - mu_p
    s2 = s * s
    sq = float(s2.sum()) + float(torch.dot(diff, diff))
    lam, ll = math.exp(float(log_lam)), float(log_lam)
    kl = 0.5 * (sq / lam - d + d * ll - 2 * float(log_s.sum()))
    f, f_l, f_kl, f_lam = objective_partials(kind, float(surrogate), kl, ll, n, delta, b, c)
    g_mu = diff.mul_(f_kl / lam).add_(g, alpha=f_l)
    g_log_s = g.mul(s).mul_(z).mul_(f_l).add_(s2.mul_(f_kl / lam).sub_(f_kl))
    g_log_lam = torch.as_tensor(f_kl * 0.5 * (d - sq / lam) + f_lam, dtype=mu.dtype, device=mu.device)
    return (g_mu, g_log_s, g_log_lam), f, kl, lam


def optimize_posterior(model, space: ParamSpace, fixed: dict, buffers: dict, loss_fn: Callable, x, y, *,
                       mu0: torch.Tensor, mu_p: torch.Tensor, log_s0: float, log_lam0: float, kind: str, n: int,
                       delta: float, b: float, c: float, steps: int, lr: float, lr_mean: float, train_mean: bool,
                       batch_size: int, seed: int, progress: Callable | None = None, total: int = 0):
    """(μ, ln s, ln λ, history) after ``steps`` Adam steps on the objective (module docstring)."""
    mu = mu0.detach().clone()
    log_s = torch.full_like(mu, log_s0)
    log_lam = torch.tensor(min(log_lam0, math.log(c) - 1.0 / b), dtype=mu.dtype, device=mu.device)
    for t in (mu, log_s, log_lam):
        t.grad = torch.zeros_like(t)
    groups = [{"params": [log_s, log_lam], "lr": lr}] + ([{"params": [mu], "lr": lr_mean}] if train_mean else [])
    opt = torch.optim.Adam(groups, fused=True if mu.device.type in ("cpu", "cuda") else None)
    d, bs, lam_max = mu.numel(), min(batch_size, len(y)), math.log(c) - 1.0 / b
    per_epoch, every, history = -(-len(y) // bs), max(1, steps // 50), []
    for t in range(steps):
        if t % per_epoch == 0:
            perm = torch.randperm(len(y), generator=generator(stream_seed(seed, 1, t // per_epoch))).to(y.device)
        idx = perm[(t % per_epoch) * bs:(t % per_epoch + 1) * bs]
        z = normal(d, noise_generator(stream_seed(seed, 2, t), mu), mu)
        s = torch.exp(log_s)
        theta = torch.addcmul(mu, s, z).requires_grad_(True)
        with torch.enable_grad():
            bufs = {k: v.clone() for k, v in buffers.items()}
            surrogate = loss_fn(call(model, {**fixed, **space.unflatten(theta), **bufs}, x[idx]), y[idx])
            (g,) = torch.autograd.grad(surrogate, theta)
            grads, obj, kl, lam = posterior_gradients(g, z, float(surrogate.detach()), mu, log_s, log_lam, mu_p,
                                                      kind=kind, n=n, delta=delta, b=b, c=c, s=s)
        for t_, g_ in zip((mu, log_s, log_lam), grads):
            t_.grad.copy_(g_)
        opt.step()
        with torch.no_grad():  # the grid starts at j = 1: λ ≤ c e^{−1/b} (the certificate cannot use more)
            log_lam.clamp_(max=lam_max)
        if t % every == 0 or t == steps - 1:
            history.append({"step": t, "objective": obj, "surrogate": float(surrogate.detach()), "kl": kl,
                            "lambda": lam})
            if progress:
                progress(t, total)
    return mu, log_s, log_lam, history
