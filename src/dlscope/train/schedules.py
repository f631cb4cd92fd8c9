"""Learning-rate schedules as pure functions of the step and the recorded metrics (so resuming needs
no scheduler state).

With e = step / steps_per_epoch the (fractional) epoch:

* constant:    η_t = η
* exponential: η_t = η · γ^⌊e⌋           (Zhang et al. 2017: γ = 0.95 per epoch)
* step:        η_t = η · γ^⌊e / k⌋       (every k epochs)
* multistep:   η_t = η · 10^(−#{m ≤ e})  (He et al. 2016: ÷10 at epochs 100, 150 … )
* cosine:      η_t = η · ½(1 + cos(π t / T))   (Loshchilov & Hutter 2017, no restarts)
* plateau:     η_t = η / φ^{d_t}, d_t = the number of plateaus among the evaluation points recorded
               up to step t (:func:`plateau_drops`). "Divide the learning rate by 10 when the
               training error plateaus" (Krizhevsky, Sutskever & Hinton 2012, §5, on the validation
               error; Bubeck's 2015 blog post, seed 004, on the training error).

The plateau rule reads only the ``metrics.jsonl`` rows (their ``train_loss``), which a resumed run
reads back bit-identical (JSON round-trips Python floats exactly): a run killed and resumed across
a drop replays the same rates.
"""
from __future__ import annotations

import math
from typing import Sequence

from .config import TrainConfig

__all__ = ["learning_rate", "plateau_drops"]


def learning_rate(cfg: TrainConfig, step: int, steps_per_epoch: int, metrics: Sequence[dict] = ()) -> float:
    """η for the update that follows ``step`` completed steps (``metrics``: the rows recorded so far)."""
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
    if cfg.schedule == "plateau":
        drops = plateau_drops(metrics, patience=cfg.plateau_patience, tol=cfg.plateau_tol, upto_step=step)
        return cfg.lr / cfg.plateau_factor ** len(drops)
    raise ValueError(cfg.schedule)


def plateau_drops(rows: Sequence[dict], *, patience: int, tol: float, upto_step: int | None = None,
                  key: str = "train_loss") -> list[int]:
    """Steps of the evaluation points at which the plateau rule divides the rate.

    Walking the rows in order with b = the best loss so far (initially +∞) and c = a counter: a row
    with loss < b·(1 − tol) sets b to it and c to 0 (an improvement by the relative tolerance);
    any other row (NaN included) adds 1 to c, and when c reaches ``patience`` the rate drops at that
    row's step and c restarts from 0 (b is kept). This is PyTorch's ``ReduceLROnPlateau`` (mode
    "min", relative threshold, no cooldown) with the drop on the ``patience``-th non-improving point.
    Only rows with step ≤ ``upto_step`` count.
    """
    best, bad, drops = math.inf, 0, []
    for r in rows:
        if upto_step is not None and r["step"] > upto_step:
            break
        loss = float(r[key])  # JSON stores NaN as "nan"
        if loss < best * (1 - tol):
            best, bad = loss, 0
        else:
            bad += 1
            if bad >= patience:
                drops.append(r["step"])
                bad = 0
    return drops
