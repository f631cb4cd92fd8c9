"""Trace estimators: unbiased, and their error bars cover the truth at the stated rate."""
import numpy as np
import pytest
import torch

from oracles import dense_hessian
from cases import CASES
from dlscope.measure import hessian, trace


def spectrum_matrix(eigs, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    return torch.tensor(Q @ np.diag(eigs) @ Q.T)


# A Hessian-like spectrum: a few outliers, an indefinite bulk.
EIGS = np.concatenate([[40.0, 25.0, 12.0, 7.0, 5.0], np.random.default_rng(1).normal(0.3, 1.0, 75)])
A = spectrum_matrix(EIGS)


@pytest.mark.parametrize("method,num_matvecs", [("hutchinson", 30), ("hutch++", 30), ("hutch++", 60)])
def test_error_bars_cover_at_the_stated_rate(method, num_matvecs):
    seeds = 400
    est = np.array([[r.value, r.stderr] for r in (trace(A, num_matvecs=num_matvecs, method=method, seed=s)
                                                   for s in range(seeds))])
    z = (est[:, 0] - EIGS.sum()) / est[:, 1]
    # |z| ≤ 2 holds ~95% for a normal mean and ~93% for a t with 9 degrees of freedom.
    cover = np.mean(np.abs(z) <= 2)
    assert 0.89 <= cover <= 0.99, cover
    # Unbiased: the mean error over seeds is within 4 of its own standard errors of 0.
    err = est[:, 0] - EIGS.sum()
    assert abs(err.mean()) <= 4 * err.std() / np.sqrt(seeds)


def test_xtrace_is_more_accurate_and_its_error_bar_roughly_covers():
    seeds = 300
    x = np.array([[r.value, r.stderr] for r in (trace(A, num_matvecs=30, method="xtrace", seed=s)
                                                 for s in range(seeds))])
    h = np.array([trace(A, num_matvecs=30, method="hutch++", seed=s).value for s in range(seeds)])
    err_x, err_h = x[:, 0] - EIGS.sum(), h - EIGS.sum()
    assert np.sqrt(np.mean(err_x ** 2)) < 0.9 * np.sqrt(np.mean(err_h ** 2))
    assert abs(err_x.mean()) <= 4 * err_x.std() / np.sqrt(seeds)
    cover = np.mean(np.abs(err_x) <= 2 * x[:, 1])
    assert 0.8 <= cover <= 0.97, cover  # documented: the leave-one-out estimates are correlated
    with pytest.raises(ValueError, match="rank deficient"):
        trace(spectrum_matrix(np.r_[1.0, 2.0, np.zeros(30)]), num_matvecs=20, method="xtrace")


def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    eigs = 100.0 * 0.8 ** np.arange(80)
    B = spectrum_matrix(eigs, seed=2)
    err = {m: np.sqrt(np.mean([(trace(B, num_matvecs=30, method=m, seed=s).value - eigs.sum()) ** 2
                               for s in range(100)])) for m in ("hutchinson", "hutch++")}
    assert err["hutch++"] < 0.5 * err["hutchinson"], err


def test_hutchpp_is_exact_for_low_rank():
    eigs = np.concatenate([[3.0, -2.0, 1.5], np.zeros(37)])
    r = trace(spectrum_matrix(eigs), num_matvecs=12, method="hutch++", seed=0)
    assert abs(r.value - 2.5) <= 1e-10 and r.stderr <= 1e-10


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
def test_trace_of_a_network_hessian(method):
    case = CASES["cnn"]()
    exact = float(torch.trace(dense_hessian(case)))
    op = hessian(case.model, case.loss_fn, case.batches)
    r = trace(op, num_matvecs=60, method=method, seed=3)
    assert abs(r.value - exact) <= 4 * r.stderr
    assert r.settings["method"] == method and r.settings["seed"] == 3 and r.settings["bn_mode"] == "none"
    assert op.num_matvecs == 60


def test_bad_arguments():
    with pytest.raises(ValueError):
        trace(A, method="xdiag")
    with pytest.raises(ValueError):
        trace(A, num_matvecs=3, method="hutch++")
