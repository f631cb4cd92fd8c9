"""In-training probes (edge of stability, gradient noise) and sharpness definitions."""
import math

import numpy as np
import pytest
import torch

from oracles import dense_hessian
from cases import CASES
from helpers import dirty, fingerprint_equal
from dlscope.measure import (adaptive_sharpness, average_sharpness, edge_of_stability, gradient_noise,
                             sharpness_summary)
from helpers import state_fingerprint


def test_edge_of_stability_against_the_exact_top_eigenvalue():
    case = CASES["cnn"]()
    lam = np.linalg.eigvalsh(dense_hessian(case).numpy())[-1]
    r = edge_of_stability(case.model, case.loss_fn, case.batches, lr=0.5, tol=1e-10)
    assert abs(r.value - lam) <= 1e-8 * lam
    assert r.extra["threshold"] == 4.0 and r.extra["ratio"] == pytest.approx(lam / 4.0)
    assert r.extra["above_threshold"] == (lam > 4.0) and r.extra["converged"]
    rm = edge_of_stability(case.model, case.loss_fn, case.batches, lr=0.5, momentum=0.9)
    assert rm.extra["threshold"] == pytest.approx(3.8 / 0.5)


@pytest.mark.parametrize("name", ["mlp", "bn_net"])
def test_gradient_noise_trace_against_a_loop_over_examples(name):
    case = CASES[name]()
    dirty(case.model)
    before = state_fingerprint(case.model)
    model = case.model
    grads = []
    model.eval()
    for i in range(len(case.y)):
        loss = case.loss_fn(model(case.x[i:i + 1]), case.y[i:i + 1])
        grads.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(model.parameters()))]))
    model.train()
    G = torch.stack(grads)
    exact = float(((G - G.mean(0)) ** 2).sum() / (len(G) - 1))
    after_loop = state_fingerprint(model)
    r = gradient_noise(model, case.loss_fn, case.batches, batch_size=4, lr=0.1, chunk=4)
    assert abs(r.value - exact) <= 1e-10 * exact
    N = len(case.y)
    assert r.extra["minibatch_noise_trace"] == pytest.approx(exact * (N - 4) / (4 * N))
    assert r.extra["temperature"] == pytest.approx(0.025) and r.stderr > 0
    assert fingerprint_equal(before, after_loop)  # the reference loop itself changed nothing
    assert fingerprint_equal(before, state_fingerprint(model))


def test_gradient_noise_refuses_train_mode_batch_norm():
    case = CASES["bn_net"]()
    with pytest.raises(ValueError, match="eval"):
        gradient_noise(case.model, case.loss_fn, case.batches, mode="train")


def test_average_sharpness_is_half_the_weighted_hessian_diagonal_for_small_rho():
    # E L(θ + δ) − L(θ) = ½ ρ² Σ_i c_i² H_ii + O(ρ⁴) for δ ~ N(0, ρ² diag(c²)).
    case = CASES["mlp"]()
    H = dense_hessian(case)
    c = case.flat().abs()
    rho = 1e-2
    expected = 0.5 * rho ** 2 * float((c ** 2 * torch.diagonal(H)).sum())
    r = average_sharpness(case.model, case.loss_fn, case.batches, rho=rho, num_samples=4000, seed=0)
    assert abs(r.value - expected) <= 4 * r.stderr + 1e-3 * abs(expected)
    assert r.settings["adaptive"] and r.settings["seed"] == 0
    plain = average_sharpness(case.model, case.loss_fn, case.batches, rho=rho, num_samples=2000, adaptive=False)
    assert abs(plain.value - 0.5 * rho ** 2 * float(torch.trace(H))) <= 4 * plain.stderr + 1e-3 * abs(plain.value)


def test_worst_case_adaptive_sharpness_first_order():
    # For small ρ the maximum over ‖δ ⊘ c‖ ≤ ρ is ρ ‖c ⊙ ∇L‖ + O(ρ²).
    case = CASES["cnn"]()
    before = state_fingerprint(dirty(case.model))
    g = torch.func.grad(case.loss)(case.flat())
    c = case.flat().abs()
    rho = 1e-4
    r = adaptive_sharpness(case.model, case.loss_fn, case.batches, rho=rho, steps=10)
    first = rho * float((c * g).norm())
    assert r.extra["lower_bound"] and abs(r.value - first) <= 0.02 * first
    assert fingerprint_equal(before, state_fingerprint(case.model))


def test_sharpness_summary_side_by_side():
    case = CASES["mlp"]()
    before = state_fingerprint(case.model)
    out = sharpness_summary(case.model, case.loss_fn, case.batches, trace_matvecs=30, num_samples=20)
    assert set(out) == {"lambda_max", "trace", "average_sharpness", "adaptive_sharpness", "keskar_sharpness"}
    lam = np.linalg.eigvalsh(dense_hessian(case).numpy())[-1]
    assert abs(out["lambda_max"].value[0] - lam) <= 1e-5 * lam
    assert all(math.isfinite(float(np.ravel(r.value)[0])) for r in out.values())
    assert fingerprint_equal(before, state_fingerprint(case.model))
