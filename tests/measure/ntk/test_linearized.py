"""measure.linearized: exactly the model at θ0, equal to it to first order (the gap shrinks like ε²),
its NTK the model's NTK at θ0, trainable by train.fit; the model left untouched."""
import pytest
import torch
from cases import bn_net, cnn, mlp
from helpers import assert_untouched, dirty, state_fingerprint

from dlscope.measure import linearized, ntk


@pytest.mark.parametrize("make", [mlp, cnn, bn_net], ids=["mlp", "cnn", "bn_net"])
def test_exact_at_theta0_and_first_order(make):
    case = make()
    before = state_fingerprint(dirty(case.model))
    lin = linearized(case.model)
    assert_untouched(before, case.model)
    case.model.eval()
    with torch.no_grad():
        assert torch.equal(lin(case.x), case.model(case.x))
    theta0 = lin.theta0()
    g = torch.Generator().manual_seed(0)
    v = {n: torch.randn(t.shape, generator=g, dtype=t.dtype) for n, t in theta0.items()}
    buffers = dict(case.model.named_buffers())
    gaps = []
    for eps in (1e-2, 5e-3, 2.5e-3):
        with torch.no_grad():
            for p, n in zip(lin.theta, lin.names):
                p.copy_(theta0[n] + eps * v[n])
            moved = torch.func.functional_call(case.model, {**{n: theta0[n] + eps * v[n] for n in v}, **buffers},
                                               (case.x,))
            gaps.append(float((moved - lin(case.x)).abs().max()))
    # a Taylor remainder O(ε²): halving ε divides the gap by ≈ 4 (measured 3.9–4.1)
    assert 3.3 < gaps[0] / gaps[1] < 4.7 and 3.3 < gaps[1] / gaps[2] < 4.7, gaps


def test_kernel_is_the_ntk_at_theta0_for_every_theta():
    case = cnn()
    lin = linearized(case.model)
    K0 = ntk(case.model, case.x).value
    with torch.no_grad():
        for p in lin.theta:
            p.add_(0.3 * torch.randn_like(p))
    assert torch.allclose(ntk(lin, case.x).value, K0, rtol=1e-12, atol=1e-12)


def test_trains_with_fit_and_is_linear_in_theta():
    from dlscope.data import Dataset
    from dlscope.train import TrainConfig, fit

    case = mlp()
    net = case.model.float()
    x, y = case.x.float(), case.y
    lin = linearized(net)
    res = fit(lin, Dataset("toy", x, y, x, y, 3), TrainConfig(max_steps=30, batch_size=16, lr=0.5, eval_every=30))
    assert res.final["train_loss"] < res.metrics[0]["train_loss"] or res.final["train_loss"] < 1.0
    # linear in θ: f_lin(θ0 + 2Δ) − f_lin(θ0) = 2 (f_lin(θ0 + Δ) − f_lin(θ0))
    with torch.no_grad():
        f1 = lin(x)
        t0 = lin.theta0()
        for p, n in zip(lin.theta, lin.names):
            p.copy_(2 * p - t0[n])
        f2 = lin(x)
        f0 = net.eval()(x)
    assert torch.allclose(f2 - f0, 2 * (f1 - f0), rtol=1e-4, atol=1e-5)


def test_params0_forms_and_errors():
    case = mlp()
    lin = linearized(case.model, {n: p.detach() * 0 for n, p in case.model.named_parameters()})
    assert all(float(t.abs().sum()) == 0 for t in lin.theta0().values())
    with pytest.raises(ValueError, match="lacks parameter"):
        linearized(case.model, {})
    with pytest.raises(ValueError, match="wrong shape"):
        linearized(case.model, {n: p.detach()[..., :1] for n, p in case.model.named_parameters()})
