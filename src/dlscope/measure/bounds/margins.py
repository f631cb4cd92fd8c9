"""Multiclass margins M(f(x), y) = f(x)_y − max_{j≠y} f(x)_j.

The margin operator of Bartlett, Foster & Telgarsky 2017 ("Spectrally-normalized margin bounds
for neural networks", §2): positive iff x is classified correctly, and 2-Lipschitz in ‖·‖_∞ of
the logits. For a network with one output (binary classification) M = ±f(x), the sign given
by the label (y ∈ {0, 1} or {−1, +1}).

The network is evaluated in eval mode (BatchNorm running statistics, no dropout) inside
:func:`~dlscope.measure.preserved`, so the model's own mode is restored afterwards.
"""
from __future__ import annotations

import torch
from torch import nn

from .._core.state import preserved

__all__ = ["margins", "margin_from_logits", "margin_percentile"]


def margin_from_logits(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """M(v, y) = v_y − max_{j≠y} v_j for each row v of ``logits`` (shape (n, k) or (n,)/(n, 1))."""
    y = y.to(logits.device)
    if logits.dim() == 1 or logits.shape[1] == 1:
        f = logits.reshape(-1)
        sign = torch.where(y.reshape(-1) > 0, 1.0, -1.0).to(f.dtype)
        return sign * f
    y = y.long()
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], float("-inf"))
    return true - others.max(dim=1).values


def margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """Margins M(f(x_i), y_i) of every example, in eval mode, as a detached 1-D tensor.

    Bartlett et al. 2017 plot the density of these raw margins and of the normalized margins
    M / (R_A ‖X‖_F / n) (see :func:`dlscope.measure.normalized_margins`).
    """
    p = next(model.parameters(), None)
    device = p.device if p is not None else x.device
    dtype = p.dtype if p is not None else x.dtype
    out = []
    with preserved(model), torch.no_grad():
        model.eval()
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(device=device, dtype=dtype)
            out.append(margin_from_logits(model(xb), y[i:i + batch_size]))
    return torch.cat(out).detach()


def margin_percentile(m: torch.Tensor, q: float = 10.0) -> float:
    """γ = the q-th percentile of the training margins.

    Jiang et al. 2020 ("Fantastic generalization measures and where to find them", App. C) use
    q = 10 rather than the minimum so one outlier does not set γ. Negative when more than q % of
    the points are misclassified; margin-normalized measures are then meaningless.
    """
    return float(torch.quantile(m.double(), q / 100.0))
