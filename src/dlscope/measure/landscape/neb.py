"""Nudged elastic band with AutoNEB pivot insertion (Draxler et al. 2018, after Jónsson,
Mills & Jacobsen 1998).

A chain of pivots θ_0 = θ_A, θ_1, ..., θ_N, θ_{N+1} = θ_B. With the tangent
τ_i = (θ_{i+1} − θ_{i−1}) / ‖θ_{i+1} − θ_{i−1}‖, each interior pivot feels

    F_i = −(∇L(θ_i) − (∇L(θ_i)·τ_i) τ_i) + k (‖θ_{i+1} − θ_i‖ − ‖θ_i − θ_{i−1}‖) τ_i:

the loss gradient only across the path (so pivots slide into the valley without sliding down
to the minima) and springs only along it (so they stay evenly spaced). Pivots move by SGD with
momentum on minibatch gradients. AutoNEB runs several such cycles; after each one it evaluates
the loss on the data at a few points inside every segment and inserts a new pivot at the worst
point of each segment whose loss bulges more than ``insert_tol`` above the straight line
between the segment's pivot losses.
"""
from __future__ import annotations

import torch


def autoneb(batch_loss, ev, theta_a, theta_b, *, num_pivots, steps, lr, momentum, spring, cycles,
            insert_tol, probe_points: int = 5, max_pivots: int = 32):
    """Returns (pivots including both ends as an (N+2) × n tensor, minibatch-loss history)."""
    N = max(1, num_pivots)
    P = torch.stack([theta_a + (k / (N + 1)) * (theta_b - theta_a) for k in range(1, N + 1)])
    history = []
    per_cycle = max(1, steps // max(1, cycles))
    for cycle in range(cycles):
        V = torch.zeros_like(P)
        for step in range(per_cycle):
            full = torch.cat([theta_a[None], P, theta_b[None]])
            thetas = [p.clone().requires_grad_(True) for p in P]
            losses, _ = batch_loss(thetas)  # one minibatch for all pivots
            G = torch.stack(torch.autograd.grad(sum(losses), thetas))
            tau = full[2:] - full[:-2]
            tau = tau / tau.norm(dim=1, keepdim=True).clamp_min(torch.finfo(tau.dtype).tiny)
            g_perp = G - (G * tau).sum(1, keepdim=True) * tau
            d_next = (full[2:] - full[1:-1]).norm(dim=1, keepdim=True)
            d_prev = (full[1:-1] - full[:-2]).norm(dim=1, keepdim=True)
            F = -g_perp + spring * (d_next - d_prev) * tau
            V = momentum * V + F
            P = P + lr * V
            if step % max(1, per_cycle // 5) == 0:
                history.append(float(sum(l.detach() for l in losses) / len(losses)))
        if cycle < cycles - 1:
            P = _insert_pivots(ev, theta_a, theta_b, P, insert_tol, probe_points, max_pivots)
    return torch.cat([theta_a[None], P, theta_b[None]]).detach(), history


def _insert_pivots(ev, theta_a, theta_b, P, insert_tol, probe_points, max_pivots):
    full = torch.cat([theta_a[None], P, theta_b[None]])
    fr = torch.linspace(0, 1, probe_points + 2, dtype=full.dtype, device=full.device)[1:-1]
    inner = (full[:-1, None] + fr[None, :, None] * (full[1:] - full[:-1])[:, None]).reshape(-1, full.shape[1])
    with torch.no_grad():
        piv_loss = torch.as_tensor(ev(full)[0])
        seg_loss = torch.as_tensor(ev(inner)[0]).reshape(len(full) - 1, probe_points)
    base = piv_loss[:-1, None] + fr.cpu().double()[None, :] * (piv_loss[1:] - piv_loss[:-1])[:, None]
    bump, where = (seg_loss - base).max(dim=1)
    new = [full[0]]
    budget = max_pivots - len(P)
    for j in range(len(full) - 1):
        if bump[j] > insert_tol and budget > 0:
            new.append(inner.reshape(len(full) - 1, probe_points, -1)[j, where[j]])
            budget -= 1
        new.append(full[j + 1])
    return torch.stack(new[1:-1])
