"""Issue 14 item 5 (registry and K): param_norm over layer weights only, path norms with biases, and
the conditional mutual information of the PGDL scoring program, each with the other convention as
an option. Fails on d1e8aa0 (all parameters; biases zeroed; distinct pairs, ternary signs, |S| ≤ 2)."""
import itertools
import types

import numpy as np
import pytest
import torch

from dlscope.measure import conditional_mi, measure_all, param_norm, path_norm
from cases import UserPoolCNN
from oracles import pgdl_conditional_mi


@pytest.fixture(scope="module")
def net_and_data():
    torch.manual_seed(0)
    net = UserPoolCNN().double()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-1, 1)
        net.bn.running_var.uniform_(0.5, 2)
    x = torch.randn(32, 1, 6, 6, dtype=torch.float64)
    ds = types.SimpleNamespace(x_train=x, y_train=torch.randint(0, 2, (32,)), input_shape=(1, 6, 6))
    return net, ds


def test_param_norm_is_weights_only_with_batchnorm_folded(net_and_data):
    net, ds = net_and_data
    s = net.bn.weight.detach() / torch.sqrt(net.bn.running_var + net.bn.eps)
    by_hand = float((net.conv.weight.detach() * s.view(-1, 1, 1, 1)).pow(2).sum() + net.fc.weight.detach().pow(2).sum())
    res = measure_all(net, None, ds, names=["param_norm"])["param_norm"]
    assert res.value == pytest.approx(by_hand, rel=1e-12)
    assert res.settings["convention"] == "weights only, BatchNorm folded"
    alt = measure_all(net, None, ds, names=["param_norm"], options={"param_norm": "all"})["param_norm"]
    assert alt.value == pytest.approx(param_norm(net) ** 2, rel=1e-12)


def test_registry_path_norm_squares_biases(net_and_data):
    net, ds = net_and_data
    res = measure_all(net, None, ds, names=["path_norm", "l1_path_norm"])
    assert res["path_norm"].value == pytest.approx(path_norm(net, (1, 6, 6), biases="included").value ** 2, rel=1e-12)
    assert res["path_norm"].settings["convention"] == "biases included"
    off = measure_all(net, None, ds, names=["path_norm"], options={"path_norm_biases": "excluded"})["path_norm"]
    assert off.value < res["path_norm"].value


def _toy_table(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for a, b, c in itertools.product([0, 1, 2], [0, 1], [0, 1]):
        gap = a + 0.5 * b + 0.3 * rng.normal()
        rows.append({"a": a, "b": b, "c": c, "gap": round(gap, 1), "mu": round(gap + 0.6 * rng.normal(), 1)})
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cmi_matches_the_pgdl_scoring_program(seed):
    rows = _toy_table(seed)
    r = conditional_mi(rows, "mu", axes=["a", "b", "c"])
    assert r.settings["convention"] == "pgdl"
    assert r.value == pytest.approx(pgdl_conditional_mi(rows, "mu", ["a", "b", "c"]), abs=1e-12)
    assert all("," in k for k in r.extra["by_set"])  # pairs of distinct hyperparameters only
    old = conditional_mi(rows, "mu", axes=["a", "b", "c"], convention="pairs")
    assert old.value != pytest.approx(r.value, abs=1e-3)  # the conventions differ on this table
