"""Directions in parameter space for landscape slices (Li, Xu, Taylor, Studer & Goldstein 2018).

A centred Gaussian d ~ N(0, I), seeded, then *filter-normalized*: for every filter i of every
weight tensor (a row of a linear weight, an output channel of a conv kernel)

    d_i ← d_i · ‖θ_i‖ / ‖d_i‖,

which removes the scale invariance of ReLU nets so slices of different nets are comparable;
1-D parameters (biases, BN affine) get d = 0, as in the paper's ``ignore='biasbn'``. Or the top
Hessian eigenvectors (unit vectors, via :func:`top_eigenvalues`), or directions given as flat
tensors or {name: tensor} dicts.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .._core.params import ParamSpace
from .._core.random import generator
from .._core.state import snapshot
from ..curvature.lanczos import top_eigenvalues
from ..curvature.operator import hessian

__all__ = ["landscape_directions"]


def landscape_directions(model: nn.Module, kind="filter-normalized-gaussian", *, num: int = 2, seed: int = 0,
                         loss_fn: Callable | None = None, data=None, mode: str = "eval") -> list[torch.Tensor]:
    """``num`` flat directions in the space of ``model``'s trainable parameters (see module doc).

    ``kind``: "filter-normalized-gaussian", "gaussian" (unnormalized), "hessian-eigenvectors"
    (needs ``loss_fn`` and ``data``), or a list of flat tensors / {name: tensor} dicts.
    """
    space = ParamSpace(model)
    if not isinstance(kind, str):
        dirs = [space.flatten(d) if isinstance(d, dict) else torch.as_tensor(d).reshape(-1) for d in kind]
        if len(dirs) != num or any(d.numel() != space.dim for d in dirs):
            raise ValueError(f"expected {num} directions of size {space.dim}")
        return [d.to(space.device, space.dtype) for d in dirs]
    if kind == "hessian-eigenvectors":
        if loss_fn is None or data is None:
            raise ValueError("hessian-eigenvector directions need loss_fn and data")
        res = top_eigenvalues(hessian(model, loss_fn, data, mode=mode), k=num, seed=seed,
                              return_eigenvectors=True)
        return [res.extra["eigenvectors"][:, i].to(space.dtype) for i in range(num)]
    if kind not in ("filter-normalized-gaussian", "gaussian"):
        raise ValueError(f"unknown direction kind {kind!r}")
    gen = generator(seed)
    theta = snapshot(model)[0]
    dirs = []
    for _ in range(num):
        d = {}
        for n, s in zip(space.names, space.shapes):
            g = torch.randn(s, generator=gen, dtype=torch.float64)
            if kind == "filter-normalized-gaussian":
                w = theta[n].detach().cpu().double()
                if g.dim() <= 1:
                    g = torch.zeros_like(g)
                else:
                    g2, w2 = g.reshape(g.shape[0], -1), w.reshape(w.shape[0], -1)
                    g = (g2 * (w2.norm(dim=1) / g2.norm(dim=1).clamp_min(torch.finfo(g2.dtype).tiny))[:, None]).reshape(s)
            d[n] = g
        dirs.append(space.flatten(d).to(space.device, space.dtype))
    return dirs
