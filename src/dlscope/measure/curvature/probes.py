"""In-training probes: curvature against the step size, and the gradient-noise scale.

* Edge of stability (Cohen, Kaur, Li, Kolter & Talwalkar 2021): full-batch gradient descent
  with step size η is stable on a quadratic only while λ_max(H) < 2/η ((2 + 2β)/η with heavy-ball
  momentum β); in practice λ_max rises to that threshold and hovers there.
* Gradient noise (Jastrzebski et al. 2017; Chaudhari & Soatto 2018): with per-example gradients
  g_i and their mean ḡ over N examples, the covariance Σ = (1/(N−1)) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ has
  tr Σ = (1/(N−1)) Σ_i ‖g_i − ḡ‖². The mean of a minibatch of B examples drawn without
  replacement has covariance Σ (N − B)/(B N) ≈ Σ/B, so SGD's noise scale η tr Σ / B grows with
  the "temperature" η/B.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.func import grad, vmap

from .._core.data import as_batches, data_hash
from .._core.params import ParamSpace, call
from .._core.result import Result
from .._core.state import mode_settings, snapshot, using_mode
from .lanczos import top_eigenvalues
from .operator import hessian

__all__ = ["edge_of_stability", "gradient_noise"]


def edge_of_stability(model: nn.Module, loss_fn: Callable, data, *, lr: float, momentum: float = 0.0,
                      seed: int = 0, tol: float = 1e-4, mode: str = "eval") -> Result:
    """Full-batch λ_max(H) next to the stability threshold (2 + 2β)/η (Cohen et al. 2021).

    value = λ_max; extra: threshold, ratio = λ_max / threshold, above_threshold, the Lanczos
    residual and converged flag.
    """
    res = top_eigenvalues(hessian(model, loss_fn, data, mode=mode), k=1, tol=tol, seed=seed)
    lam = res.value[0]
    threshold = (2.0 + 2.0 * momentum) / lr
    return Result("edge_of_stability", lam, None,
                  {**res.settings, "lr": lr, "momentum": momentum},
                  {"threshold": threshold, "ratio": lam / threshold, "above_threshold": lam > threshold,
                   "residual": res.extra["residuals"][0], "converged": res.extra["converged"]})


def gradient_noise(model: nn.Module, loss_fn: Callable, data, *, batch_size: int | None = None,
                   lr: float | None = None, chunk: int = 256, mode: str = "eval") -> Result:
    """tr Σ of the per-example gradient covariance over ``data`` (see module docstring).

    ``loss_fn`` is applied to one example at a time (a batch of one). value = tr Σ, stderr =
    sd(‖g_i − ḡ‖²)/√N (sampling error of the examples as a sample of the data distribution).
    extra: ‖ḡ‖², and with ``batch_size`` B the minibatch noise tr Σ (N − B)/(B N), with ``lr`` η
    also the temperature η/B and η tr Σ / B.
    """
    batches = as_batches(data)
    space = ParamSpace(model)
    fixed, buffers = snapshot(model)
    settings = mode_settings(model, mode)
    if settings["bn_mode"].find("train") >= 0:
        raise ValueError("per-example gradients need batch norm in eval mode (mode='eval')")

    def example_loss(flat, x, y):
        tensors = {**fixed, **space.unflatten(flat), **buffers}
        return loss_fn(call(model, tensors, x[None]), y[None])

    theta = space.flatten(fixed)
    per_example = vmap(grad(example_loss), in_dims=(None, 0, 0))
    # Two passes: the mean gradient, then squared deviations (numerically stable for large N).
    grads = []
    with using_mode(model, mode):
        for x, y in batches:
            for j in range(0, len(y), chunk):
                grads.append(per_example(theta, x[j:j + chunk], y[j:j + chunk]).double())
    G = torch.cat(grads)
    N = G.shape[0]
    if N < 2:
        raise ValueError("need at least two examples")
    mean = G.mean(0)
    dev = ((G - mean) ** 2).sum(1)
    tr = float(dev.sum() / (N - 1))
    extra = {"mean_gradient_norm_sq": float(mean @ mean), "num_examples": N}
    if batch_size is not None:
        extra["minibatch_noise_trace"] = tr * (N - batch_size) / (batch_size * N)
        if lr is not None:
            extra["temperature"] = lr / batch_size
            extra["lr_times_noise_trace"] = lr * tr / batch_size
    return Result("gradient_noise_trace", tr, float(dev.std(unbiased=True) / math.sqrt(N)),
                  {**settings, "dtype": str(space.dtype).removeprefix("torch."), "data_hash": data_hash(batches),
                   "batch_size": batch_size, "lr": lr}, extra)
