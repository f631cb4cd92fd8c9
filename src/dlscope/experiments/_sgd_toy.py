"""A 1-D finite-sum loss with a sharp local minimum beside a wide one, and SGD on it (Kleinberg et al. 2018).

    f(x) = −a_s exp(−x² / 2s²) − a_w exp(−(x − m)² / 2w²),      f_i(x) = f(x) + ξ_i x,

with s ≪ w (a sharp well at 0, a wide one at m) and fixed ξ_1..ξ_N of mean 0 and standard deviation
σ, so that f = (1/N) Σ f_i and a mini-batch gradient is f′(x) + mean_{i∈B} ξ_i (batches drawn with
replacement: noise variance σ²/B). SGD with step η is run for a fixed time η·T from x₀ = 0 (inside
the sharp well); it has escaped when it crossed the barrier between the wells at some step (a
first passage: at high temperature a chain may later wander back). In the diffusion
limit its temperature is ησ²/(2B) (Chaudhari & Soatto 2018), so escape is governed by η/B.
Convolving f with N(0, r²) (Kleinberg et al.'s smoothed loss for Gaussian noise of radius r) keeps
the form: each well's depth becomes a·s/√(s² + r²) and its width √(s² + r²) — the sharp well fades
first.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Toy", "escape_fractions"]


class Toy:
    def __init__(self, a_sharp=0.5, s=0.1, a_wide=1.0, w=1.0, m=2.5, sigma=3.0, n=100, seed=12345):
        self.a_s, self.s, self.a_w, self.w, self.m = a_sharp, s, a_wide, w, m
        xi = np.random.default_rng(seed).standard_normal(n)
        self.xi = (xi - xi.mean()) * (sigma / (xi - xi.mean()).std())
        grid = np.linspace(0.0, m, 20001)
        self.barrier = float(grid[np.argmax(self.f(grid))])  # the local maximum between the wells

    def f(self, x, r: float = 0.0):
        """f convolved with N(0, r²) (r = 0: f itself)."""
        vs, vw = self.s ** 2 + r ** 2, self.w ** 2 + r ** 2
        return (-self.a_s * self.s / np.sqrt(vs) * np.exp(-x ** 2 / (2 * vs))
                - self.a_w * self.w / np.sqrt(vw) * np.exp(-(x - self.m) ** 2 / (2 * vw)))

    def grad(self, x):
        return (self.a_s * x / self.s ** 2 * np.exp(-x ** 2 / (2 * self.s ** 2))
                + self.a_w * (x - self.m) / self.w ** 2 * np.exp(-(x - self.m) ** 2 / (2 * self.w ** 2)))

    def run(self, lr: float, batch: int | None, time: float, chains: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(final points, crossed the barrier at some step) of ``chains`` independent SGD runs
        (``batch=None``: gradient descent, one run)."""
        rng = np.random.default_rng(seed)
        x = np.zeros(chains if batch else 1)
        crossed = np.zeros(len(x), dtype=bool)
        for _ in range(int(round(time / lr))):
            noise = self.xi[rng.integers(0, len(self.xi), (chains, batch))].mean(1) if batch else 0.0
            x = x - lr * (self.grad(x) + noise)
            crossed |= x > self.barrier
        return x, crossed


def escape_fractions(toy: Toy, lrs, batches, time: float, chains: int, seed: int) -> list[dict]:
    """One row per (η, B): the fraction of chains that crossed the barrier, and that ended past it."""
    rows = []
    for i, lr in enumerate(lrs):
        for j, b in enumerate(batches):
            x, crossed = toy.run(lr, b, time, chains, seed=seed * 1_000 + 10 * i + j)
            rows.append({"lr": lr, "batch": b, "lr_over_b": lr / b, "seed": seed, "escaped": float(crossed.mean()),
                         "ended_in_wide": float(np.mean(x > toy.barrier))})
    return rows
