"""The optimized PAC-Bayes certificate: checked by hand on a linear model, on random labels, on any module."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cases import bn_net, linear_binary
from helpers import assert_untouched, dirty, state_fingerprint
from oracles import linear_snn_error
from torch import nn

from dlscope.measure import (bounded_cross_entropy, gaussian_kl, grid_cost, mc_error_bound, pacbayes_bound,
                             pacbayes_kl_bound, prior_variance)
from dlscope.measure.pacbayes.objective import kl_to_isotropic, objective
from dlscope.measure.pacbayes.optimize import posterior_gradients


def _trained_linear(seed=0):
    case = linear_binary(seed)
    init = copy.deepcopy(case.model)
    opt = torch.optim.SGD(case.model.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        F.cross_entropy(case.model(case.x), case.y).backward()
        opt.step()
    return case, init


def test_linear_certificate_by_hand():
    case, init = _trained_linear()
    s0, n = 0.3, len(case.y)
    r = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), init=init, steps=0, sigma_init=s0,
                       mc_samples=400, mc_batch=16, seed=3)
    e = r.extra
    w = torch.cat([p.detach().reshape(-1) for p in case.model.parameters()])
    w0 = torch.cat([p.detach().reshape(-1) for p in init.parameters()])
    # the Monte-Carlo estimate against the exact stochastic error Φ(m/s) of the linear model
    W, b = case.model.weight.detach().tolist(), case.model.bias.detach().tolist()
    exact = linear_snn_error(W, b, [[s0] * 2] * 2, [s0] * 2, case.x, case.y)
    assert abs(e["snn_train_error"] - exact) < 4 * e["snn_train_error_stderr"]
    assert e["mc_count"] == 400 * 4 and e["equal_batches"]  # 64 examples in 4 equal batches of 16
    e_plus = mc_error_bound(e["snn_train_error"], 1600, 0.01)
    assert e["snn_train_error_bound"] == pytest.approx(e_plus, abs=1e-12) and e_plus >= exact
    # the certificate: the best grid point, found by a plain loop over j with the closed-form KL
    best = min(pacbayes_kl_bound(e_plus, gaussian_kl(w, s0 ** 2, w0, float(prior_variance(j))), n, 0.04,
                                 float(grid_cost(j))) for j in range(1, 5001))
    assert r.value == pytest.approx(best, abs=1e-9)
    assert e["kl"] == pytest.approx(gaussian_kl(w, s0 ** 2, w0, e["lambda"]), rel=1e-9)
    assert e["n"] == n and e["delta_pacbayes"] == pytest.approx(0.04) and e["delta_mc"] == 0.01
    assert exact <= r.value <= 1


def test_optimization_lowers_the_bound_and_reports_its_posterior():
    case, init = _trained_linear()
    kw = dict(init=init, sigma_init=0.3, mc_samples=200, mc_batch=16, seed=0)
    before = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), steps=0, **kw)
    after = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), steps=300, lr=0.05, lr_mean=0.01,
                           return_posterior=True, **kw)
    assert after.value < before.value
    e = after.extra
    kl = gaussian_kl(e["posterior_mean"], e["posterior_std_vector"] ** 2, e["prior_mean"], e["lambda"])
    assert e["kl"] == pytest.approx(kl, rel=1e-6)
    assert len(e["history"]) >= 2 and e["history"][-1]["step"] == 299


def test_manual_gradients_equal_autograd_through_the_objective():
    g = torch.Generator().manual_seed(0)
    d = 9
    a = torch.randn(d, generator=g, dtype=torch.float64)
    mu, mu_p, z = (torch.randn(d, generator=g, dtype=torch.float64) for _ in range(3))
    log_s = (0.3 * torch.randn(d, generator=g, dtype=torch.float64) - 1.0)
    log_lam = torch.tensor(-2.0, dtype=torch.float64)
    surrogate_of = lambda th: torch.sigmoid(a @ th)  # noqa: E731  a smooth surrogate in [0, 1]
    for kind in ("quad", "classic"):
        leaves = [t.clone().requires_grad_(True) for t in (mu, log_s, log_lam)]
        th = leaves[0] + torch.exp(leaves[1]) * z
        obj, _ = objective(kind, surrogate_of(th), kl_to_isotropic(leaves[0], leaves[1], mu_p, leaves[2]), leaves[2],
                           500, 0.04, 100.0, 0.1)
        ref = torch.autograd.grad(obj, leaves)
        theta = (mu + torch.exp(log_s) * z).requires_grad_(True)
        (gt,) = torch.autograd.grad(surrogate_of(theta), theta)
        grads, obj2, _, _ = posterior_gradients(gt, z, surrogate_of(theta).detach(), mu, log_s, log_lam, mu_p,
                                                kind=kind, n=500, delta=0.04, b=100.0, c=0.1)
        assert float(obj2) == pytest.approx(float(obj.detach()), rel=1e-12)
        for u, v in zip(grads, ref):
            assert torch.allclose(u, v, rtol=1e-10, atol=1e-12)


def test_random_label_bound_is_above_its_test_error():
    g = torch.Generator().manual_seed(0)
    x, xt = torch.randn(200, 10, generator=g), torch.randn(2000, 10, generator=g)
    y, yt = torch.randint(0, 2, (200,), generator=g), torch.randint(0, 2, (2000,), generator=g)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 128), nn.ReLU(), nn.Linear(128, 2))
    init = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(400):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    assert (net(x).argmax(1) != y).float().mean() < 0.05  # memorized
    r = pacbayes_bound(net, bounded_cross_entropy(), (x, y), init=init, test_data=(xt, yt), steps=200,
                       mc_samples=50, mc_batch=50, test_samples=10, seed=0)
    # the risk of any classifier on labels independent of x is ½; the test error estimates it
    assert abs(r.extra["snn_test_error"] - 0.5) < 0.05
    assert r.value >= r.extra["snn_test_error"]


def test_data_dependent_prior_uses_the_other_part_for_the_bound():
    case, _ = _trained_linear()
    r = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), prior="data", prior_fraction=0.25, steps=20,
                       mc_samples=20, mc_batch=8, seed=1)
    assert r.extra["n"] == 48 and r.extra["n_prior"] == 16 and r.extra["prior"] == "data"
    assert r.extra["start"] == "prior" and 0 <= r.extra["prior_bound_error"] <= 1
    assert r.settings["prior_fraction"] == 0.25


def test_prior_module_equals_init_prior():
    case, init = _trained_linear()
    kw = dict(steps=5, mc_samples=10, mc_batch=16, seed=2)
    a = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), init=init, **kw)
    b = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), prior=init, **kw)
    assert a.value == b.value and b.extra["prior"] == "module"


def test_seeded_and_model_untouched():
    case, init = _trained_linear()
    dirty(case.model)
    before = state_fingerprint(case.model)
    kw = dict(init=init, steps=20, mc_samples=10, mc_batch=24, sigma_init=0.5)
    a = pacbayes_bound(case.model, F.cross_entropy, case.batches, seed=4, **kw)
    b = pacbayes_bound(case.model, F.cross_entropy, case.batches, seed=4, **kw)
    c = pacbayes_bound(case.model, F.cross_entropy, case.batches, seed=5, **kw)
    assert a.value == b.value and a.extra["snn_train_error"] == b.extra["snn_train_error"]
    assert a.extra["snn_train_error"] != c.extra["snn_train_error"]
    assert_untouched(before, case.model)
    # 64 examples in batches of 24, 24, 16: unequal, so only the draws count in the Monte-Carlo term
    assert a.extra["mc_count"] == 10 and not a.extra["equal_batches"]


def test_batchnorm_model_measured_in_eval_mode_and_restored():
    case = bn_net()
    init = copy.deepcopy(case.model)
    before = state_fingerprint(case.model)
    r = pacbayes_bound(case.model, F.cross_entropy, (case.x, case.y), init=init, steps=10, mc_samples=5, mc_batch=5)
    assert r.settings["bn_mode"] == "eval" and 0 <= r.value <= 1 and np.isfinite(r.extra["kl"])
    assert_untouched(before, case.model)


def test_errors_are_one_line():
    case, init = _trained_linear()
    data = (case.x, case.y)
    with pytest.raises(ValueError, match="needs init="):
        pacbayes_bound(case.model, F.cross_entropy, data)
    with pytest.raises(ValueError, match="objective"):
        pacbayes_bound(case.model, F.cross_entropy, data, init=init, objective="mcallester")
    with pytest.raises(ValueError, match="delta_mc < delta"):
        pacbayes_bound(case.model, F.cross_entropy, data, init=init, delta=0.01, delta_mc=0.01)
    with pytest.raises(ValueError, match="shape"):
        pacbayes_bound(case.model, F.cross_entropy, data, prior=nn.Linear(3, 2).double())
    with pytest.raises(ValueError, match="prior must be"):
        pacbayes_bound(case.model, F.cross_entropy, data, prior="zero")
    assert math.isfinite(float(bounded_cross_entropy()(torch.zeros(3, 2), torch.tensor([0, 1, 0]))))


@pytest.mark.parametrize("kind", ["quad", "classic"])
@pytest.mark.parametrize("log_lam", [-6.0, math.log(0.1) - 0.005])  # on the grid, and where j(λ) < 1 is clamped
def test_objective_partials_equal_autograd(kind, log_lam):
    from dlscope.measure.pacbayes.objective import objective_partials

    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.2, 800.0, log_lam)]
    f, _ = objective(kind, *leaves, 10_000, 0.04, 100.0, 0.1)
    ref = torch.autograd.grad(f, leaves)
    got = objective_partials(kind, 0.2, 800.0, log_lam, 10_000, 0.04, 100.0, 0.1)
    assert got[0] == pytest.approx(float(f.detach()), rel=1e-12)
    for u, v in zip(got[1:], ref):
        assert u == pytest.approx(float(v), rel=1e-10, abs=1e-15)
