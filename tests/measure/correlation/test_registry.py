"""measure_all on a user-written BatchNorm CNN: every measure finite, metadata sane, model untouched."""
import copy
import math
import types

import pytest
import torch
from torch import nn

from dlscope.measure import MEASURES, generalization_gap, measure_all, path_norm
from cases import UserPoolCNN
from helpers import state_fingerprint
from dlscope.measure.correlation.registry import COSTS


@pytest.fixture(scope="module")
def trained():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 1, 6, 6, generator=g)
    y = (x[:, 0, :3].sum((1, 2)) > x[:, 0, 3:].sum((1, 2))).long()
    torch.manual_seed(0)
    net = UserPoolCNN()
    init = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x[:64]), y[:64]).backward()
        opt.step()
    ds = types.SimpleNamespace(x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:],
                               input_shape=(1, 6, 6), num_classes=2, name="toy")
    return net, init, ds


def test_metadata_is_complete():
    for name, m in MEASURES.items():
        assert m.name == name and m.sign in (-1, 1) and m.cost in COSTS and m.formula and m.paper


def test_measure_all_everything_finite_and_model_untouched(trained):
    net, init, ds = trained
    assert generalization_gap(net, ds).extra["train_acc"] == 1.0
    before = state_fingerprint(net)
    res = measure_all(net, init, ds, seed=0, options={
        "pacbayes": {"samples": 4, "rel_tol": 0.1}, "sharpness": {"steps": 3, "rel_tol": 0.2},
        "keskar": {"steps": 3}, "flatness_examples": 32})
    after = state_fingerprint(net)
    for k in before:
        assert (torch.equal(before[k], after[k]) if isinstance(before[k], torch.Tensor) else before[k] == after[k]), k
    assert set(res) == set(MEASURES)
    for name, r in res.items():
        assert math.isfinite(float(r.value)), name
        assert r.settings["sign"] == MEASURES[name].sign and r.to_json()["name"] == name
    assert res["params"].value == sum(p.numel() for p in net.parameters())
    assert res["pacbayes_flatness"].stderr is not None and res["pacbayes_flatness"].settings["seed"] == 0
    assert res["path_norm"].value == pytest.approx(path_norm(net, (1, 6, 6)).value ** 2)
    assert res["log_spectral_complexity_init"].value != res["log_spectral_complexity"].value


def test_measure_all_filters_by_cost_and_init(trained):
    net, _, ds = trained
    res = measure_all(net, None, ds, max_cost="cheap")
    assert res and all(MEASURES[n].cost == "cheap" and not MEASURES[n].needs_init for n in res)
    assert "params" in res and "dist_from_init" not in res


def test_model_equal_to_its_init(trained):
    net, _, ds = trained
    res = measure_all(net, copy.deepcopy(net), ds, max_cost="norms")
    assert res["dist_from_init"].value == 0.0 and res["frobenius_distance"].value == 0.0
    assert res["log_spec_init_main"].value == -math.inf
