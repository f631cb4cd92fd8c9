"""Planted teachers: synthetic classification problems whose target function is known exactly.

* ``blum-rivest`` — the 3-node network of Blum & Rivest ("Training a 3-node neural network is
  NP-complete", Neural Networks 1992): two linear threshold units feeding one threshold output
  unit that computes their AND,

      y = 1[⟨w₁, x⟩ > t] · 1[⟨w₂, x⟩ > t],   x ~ N(0, I_d),  ‖w₁‖ = ‖w₂‖ = 1,

  with t = Φ⁻¹(1 − 1/√2) ≈ −0.545 so that P(y = 1) = 1/2 when w₁ ⟂ w₂ (random unit vectors in
  ℝ^d are nearly orthogonal). Labels are noise-free: a student with two hidden units can reach
  zero training error.
* ``planted-teacher`` — a noisy teacher for the risk decomposition: a seeded two-layer ReLU
  net T(x) = W₂ relu(W₁x + b₁) of width ``width`` whose softmax p*(y | x) = softmax(T(x)) is the
  conditional law of the labels, x ~ N(0, I_d) (the output bias centres the logits). The Bayes
  predictor g* is the teacher itself;
  :func:`teacher_probs` evaluates p* at any x, so population risks can be computed exactly over
  the label noise (see ``experiments/risk_decomposition.py``).

Both are functions of (seed, n): the teacher is drawn from ``seed``, the inputs and labels from
``seed + 1`` (training) and ``seed + 7919`` (test, as for the other synthetic sets).
"""
from __future__ import annotations

import math

import torch

__all__ = ["blum_rivest", "planted_teacher", "teacher_params", "teacher_probs", "BR_THRESHOLD"]

# Φ⁻¹(1 − 2^{-1/2}): both half-spaces hold with probability 1/2 for orthogonal w₁, w₂.
BR_THRESHOLD = -0.5449521356173758


def _br_weights(seed: int, dim: int) -> torch.Tensor:
    w = torch.randn(2, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (w / w.norm(dim=1, keepdim=True)).float()


def blum_rivest(n: int, seed: int, dim: int = 10, draw_seed: int | None = None):
    """(x, y, classes) from the 3-node AND teacher drawn from ``seed``; inputs from ``draw_seed``."""
    w = _br_weights(seed, dim)
    g = torch.Generator().manual_seed(seed + 1 if draw_seed is None else draw_seed)
    x = torch.randn(n, dim, generator=g)
    y = ((x @ w.T) > BR_THRESHOLD).all(dim=1).long()
    return x, y, 2


def teacher_params(seed: int, dim: int = 8, width: int = 16, classes: int = 3, scale: float = 3.0) -> dict:
    """The teacher's weights: W₁ ~ N(0, 2/d) (He), b₁ ~ N(0, 0.1²), W₂ ~ N(0, scale²/width), and the
    output bias b₂ = −W₂ μ with μⱼ = E relu(⟨w₁ⱼ, x⟩ + b₁ⱼ) = sⱼ φ(bⱼ/sⱼ) + bⱼ Φ(bⱼ/sⱼ), sⱼ = ‖w₁ⱼ‖, which
    centres the logits so that no class dominates. ``scale`` sets how deterministic the labels are
    (larger: lower Bayes risk; 3 gives a Bayes error near 0.25 for 3 classes).
    """
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(width, dim, generator=g, dtype=torch.float64) * math.sqrt(2.0 / dim)
    b1 = torch.randn(width, generator=g, dtype=torch.float64) * 0.1
    w2 = torch.randn(classes, width, generator=g, dtype=torch.float64) * scale / math.sqrt(width)
    s = w1.norm(dim=1)
    r = b1 / s
    mu = s * torch.exp(-r * r / 2) / math.sqrt(2 * math.pi) + b1 * 0.5 * (1 + torch.erf(r / math.sqrt(2)))
    return {"w1": w1, "b1": b1, "w2": w2, "b2": -(w2 @ mu)}


def teacher_probs(params: dict, x: torch.Tensor) -> torch.Tensor:
    """p*(· | x) = softmax(W₂ relu(W₁x + b₁) + b₂), float64, shape (n, classes)."""
    z = torch.relu(x.double() @ params["w1"].T + params["b1"]) @ params["w2"].T + params["b2"]
    return torch.softmax(z, dim=1)


def planted_teacher(n: int, seed: int, dim: int = 8, width: int = 16, classes: int = 3, scale: float = 3.0,
                    draw_seed: int | None = None):
    """(x, y, classes): x ~ N(0, I_d) from ``draw_seed`` (default seed + 1), y ~ p*(· | x)."""
    params = teacher_params(seed, dim, width, classes, scale)
    g = torch.Generator().manual_seed(seed + 1 if draw_seed is None else draw_seed)
    x = torch.randn(n, dim, generator=g)
    y = torch.multinomial(teacher_probs(params, x), 1, generator=g).squeeze(1)
    return x, y, classes
