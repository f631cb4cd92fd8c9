"""Learning-rate schedules as pure functions of the step (so resuming needs no scheduler state).

With e = step / steps_per_epoch the (fractional) epoch:

* constant:    η_t = η
* exponential: η_t = η · γ^⌊e⌋           (Zhang et al. 2017: γ = 0.95 per epoch)
* step:        η_t = η · γ^⌊e / k⌋       (every k epochs)
* multistep:   η_t = η · 10^(−#{m ≤ e})  (He et al. 2016: ÷10 at epochs 100, 150 … )
* cosine:      η_t = η · ½(1 + cos(π t / T))   (Loshchilov & Hutter 2017, no restarts)
"""
from __future__ import annotations

import math

from .config import TrainConfig

__all__ = ["learning_rate"]


def learning_rate(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    e = step / steps_per_epoch
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "exponential":
        return cfg.lr * cfg.lr_decay ** math.floor(e)
    if cfg.schedule == "step":
        return cfg.lr * cfg.lr_decay ** math.floor(e / cfg.step_epochs)
    if cfg.schedule == "multistep":
        return cfg.lr * 0.1 ** sum(1 for m in cfg.milestones if e >= m)
    if cfg.schedule == "cosine":
        total = math.ceil(cfg.max_epochs * steps_per_epoch) if cfg.max_epochs is not None else cfg.max_steps
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    raise ValueError(cfg.schedule)
