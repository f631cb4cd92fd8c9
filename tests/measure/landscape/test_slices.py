"""Landscape slices and interpolation: values against direct evaluation, directions, purity."""
import copy

import numpy as np
import pytest
import torch

from cases import CASES
from helpers import dirty, fingerprint_equal
from dlscope.measure import (classification_error, interpolate, landscape_directions, slice_1d, slice_2d,
                             top_eigenvalues, hessian)
from helpers import state_fingerprint


def loss_at(case, flat, recalibrate=False):
    """Direct evaluation: load flat parameters into a deep copy of the model, eval mode."""
    m = copy.deepcopy(case.model)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(flat, m.parameters())
        if recalibrate:
            for mod in m.modules():
                if isinstance(mod, torch.nn.BatchNorm1d):
                    mod.reset_running_stats()
                    mod.momentum = None
            m.train()
            for x, _ in case.batches:
                m(x)
        m.eval()
        n = len(case.y)
        return sum(len(y) / n * float(case.loss_fn(m(x), y)) for x, y in case.batches)


@pytest.mark.parametrize("name", ["mlp", "cnn", "bn_net"])
def test_slices_match_direct_evaluation_and_leave_the_model_alone(name):
    case = CASES[name]()
    dirty(case.model)
    before = state_fingerprint(case.model)
    r1 = slice_1d(case.model, case.loss_fn, case.batches, steps=7, span=(-0.5, 1.0), seed=3,
                  error_fn=classification_error)
    d = landscape_directions(case.model, num=1, seed=3)[0]
    theta = case.flat()
    for a, v in zip(r1.extra["alphas"], r1.value):
        assert abs(v - loss_at(case, theta + a * d)) <= 1e-12
    r2 = slice_2d(case.model, case.loss_fn, case.batches, steps=(3, 4), seed=5, points_per_batch=5)
    d1, d2 = landscape_directions(case.model, num=2, seed=5)
    assert r2.value.shape == (3, 4)
    for i, a in enumerate(r2.extra["alphas"]):
        for j, b in enumerate(r2.extra["betas"]):
            assert abs(r2.value[i, j] - loss_at(case, theta + a * d1 + b * d2)) <= 1e-12
    # One point per vmapped batch and 16 per batch give the same numbers.
    r3 = slice_2d(case.model, case.loss_fn, case.batches, steps=(3, 4), seed=5, points_per_batch=1)
    assert np.allclose(r2.value, r3.value, rtol=1e-13, atol=0)
    assert fingerprint_equal(before, state_fingerprint(case.model))
    assert r1.settings["mode"] == "eval" and r1.settings["seed"] == 3 and "data_hash" in r1.settings


def test_filter_normalized_directions():
    case = CASES["cnn"]()
    d = landscape_directions(case.model, num=2, seed=0)
    d_again = landscape_directions(case.model, num=2, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(d, d_again))
    assert not torch.equal(d[0], d[1])
    offs = 0
    for p in case.model.parameters():
        piece = d[0][offs: offs + p.numel()].view_as(p)
        offs += p.numel()
        if p.dim() <= 1:
            assert torch.all(piece == 0)  # biases ignored, as in Li et al.'s 'biasbn'
        else:
            assert torch.allclose(piece.reshape(len(p), -1).norm(dim=1), p.detach().reshape(len(p), -1).norm(dim=1))
            assert (piece < 0).any() and (piece > 0).any()  # centred, not torch.rand
    g = landscape_directions(case.model, "gaussian", num=1, seed=0)[0]
    assert abs(float(g.mean())) < 4 / np.sqrt(g.numel()) and abs(float(g.std()) - 1) < 0.2


def test_hessian_eigenvector_directions_see_the_top_curvature():
    case = CASES["mlp"]()
    lam = top_eigenvalues(hessian(case.model, case.loss_fn, case.batches), k=1, tol=1e-10).value[0]
    h = 1e-3
    r = slice_1d(case.model, case.loss_fn, case.batches, direction="hessian-eigenvectors", span=(-h, h), steps=3)
    curvature = (r.value[0] - 2 * r.value[1] + r.value[2]) / h ** 2
    assert abs(curvature - lam) <= 1e-4 * lam
    # Given directions are used as they are.
    d = torch.zeros(case.flat().numel(), dtype=torch.float64)
    flat_r = slice_1d(case.model, case.loss_fn, case.batches, direction=d, steps=3)
    assert np.ptp(flat_r.value) == 0


def test_bn_recalibration_uses_the_data_statistics():
    case = CASES["bn_net"]()
    before = state_fingerprint(case.model)
    r = slice_1d(case.model, case.loss_fn, case.batches, steps=3, span=(-0.3, 0.3), bn_recalibrate=True, seed=1)
    d = landscape_directions(case.model, num=1, seed=1)[0]
    for a, v in zip(r.extra["alphas"], r.value):
        assert abs(v - loss_at(case, case.flat() + a * d, recalibrate=True)) <= 1e-12
    plain = slice_1d(case.model, case.loss_fn, case.batches, steps=3, span=(-0.3, 0.3), seed=1)
    assert np.abs(plain.value - r.value).max() > 1e-3  # the running statistics were not the data's
    assert fingerprint_equal(before, state_fingerprint(case.model))


def test_interpolation_between_copies_has_zero_barrier():
    case = CASES["bn_net"]()
    dirty(case.model)
    twin = copy.deepcopy(case.model)
    before = state_fingerprint(case.model)
    r = interpolate(case.model, twin, case.loss_fn, case.batches, steps=11, error_fn=classification_error)
    assert r.extra["loss_barrier"] == 0.0 and r.extra["error_barrier"] == 0.0
    assert np.ptp(r.value) == 0.0
    assert fingerprint_equal(before, state_fingerprint(case.model))


def test_interpolation_endpoints_and_barrier():
    a, b = CASES["mlp"](0), CASES["mlp"](1)
    r = interpolate(a.model, b.model, a.loss_fn, a.batches, steps=5, span=(-0.5, 1.5))
    t = r.extra["t"]
    assert np.allclose(t, [-0.5, 0.0, 0.5, 1.0, 1.5])
    assert abs(r.value[1] - loss_at(a, a.flat())) <= 1e-12
    assert abs(r.value[3] - loss_at(a, b.flat())) <= 1e-12
    mid = loss_at(a, 0.5 * (a.flat() + b.flat()))
    assert abs(r.value[2] - mid) <= 1e-12
    assert r.extra["loss_barrier"] == pytest.approx(max(0.0, mid - 0.5 * (r.value[1] + r.value[3])))
