"""nakkiran2019-double-descent, --quick (~15 s of one core). The random-features double descent is asserted
in full; the MLP part of --quick is a smoke run (500 examples, 100 epochs do not show the MLP peak, which
needs the default run's 4000 examples and ≥ 250 epochs) whose claims are recomputed, not asserted."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import claim, run_quick
from oracles import kendall_tau_pairs, min_norm_lstsq

from dlscope import models
from dlscope.data import load


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "nakkiran2019-double-descent")


def _mean(rows, part, x, y, **m):
    sel = [r for r in rows if r["part"] == part and all(r[k] == v for k, v in m.items())]
    grid = sorted({r[x] for r in sel})
    return grid, [sum(r[y] for r in sel if r[x] == g) / sum(r[x] == g for r in sel) for g in grid]


def test_files_and_table(quick):
    out, s = quick
    assert s["figures"] == ["figures/double_descent.png", "figures/random_features.png"]
    assert sum(r["part"] == "mlp" for r in s["table"]) == 3 * 2 * 2  # widths × noise levels × seeds
    assert sum(r["part"] == "rf" for r in s["table"]) == 9 * 2


def test_claims_follow_from_the_table(quick):
    _, s = quick
    rows = s["table"]
    w, err = _mean(rows, "mlp", "width", "test_error", noise=0.15)
    _, tr = _mean(rows, "mlp", "width", "train_error", noise=0.15)
    first = next((i for i, e in enumerate(tr) if e <= 0.01), None)
    lo = min(range(first), key=lambda i: err[i]) if first else min(range(len(err)), key=lambda i: err[i])
    peak = max(range(lo, len(err)), key=lambda i: err[i])
    c = claim(s, "peak")
    assert c["measured"]["peak width"] == w[peak]
    assert c["held"] == (None if not first else abs(peak - first) <= 1)
    N, mse = _mean(rows, "rf", "features", "test_mse")
    k = max(range(len(mse)), key=lambda i: mse[i])
    assert claim(s, "rf_peak")["held"] == (N[k] == 200 and mse[N.index(200)] >= 5 * mse[-1])
    beyond = [(f, m) for f, m in zip(N, mse) if f >= 200]
    tau = kendall_tau_pairs([f for f, _ in beyond], [m for _, m in beyond])
    assert claim(s, "rf_descent")["measured"]["tau"] == pytest.approx(tau, abs=1e-3)
    assert claim(s, "rf_descent")["held"] == (tau <= -0.8)
    rf_fit = max(r["train_mse"] for r in rows if r["part"] == "rf" and r["features"] >= 200)
    assert claim(s, "interpolates")["held"] == (tr[-1] <= 0.01 and rf_fit <= 1e-8)


def test_random_features_double_descent(quick):
    # Measured (seeds 0, 1): test MSE 306 and 954 at N = n = 200, 1.48 and 1.40 at N = 3000 (200–680×);
    # train MSE ≤ 1.3e-26 from N = n on, 0.17 at N = 160. Asserted with ≥ 20× room on the ratio.
    _, s = quick
    rf = [r for r in s["table"] if r["part"] == "rf"]
    for seed in (0, 1):
        by = {r["features"]: r for r in rf if r["seed"] == seed}
        assert max(by, key=lambda f: by[f]["test_mse"]) == 200
        assert by[200]["test_mse"] > 10 * by[3000]["test_mse"]
        assert all(by[f]["train_mse"] < 1e-12 for f in by if f >= 200)
        assert by[160]["train_mse"] > 0.01 and by[3000]["test_mse"] < by[400]["test_mse"] < by[250]["test_mse"]


def test_a_random_features_row_against_numpy_lstsq(quick):
    _, s = quick
    row = next(r for r in s["table"] if r["part"] == "rf" and r["features"] == 250 and r["seed"] == 1)
    ds = load("mnist1d", n_train=200, n_test=None, seed=1)
    torch.manual_seed(1)
    net = models.build("random-features", input_shape=(40,), num_classes=10, features=250).double()
    phi, phi_t = (net.features(v.double()).detach().numpy() for v in (ds.x_train, ds.x_test))
    a = min_norm_lstsq(phi, F.one_hot(ds.y_train, 10).numpy())
    yt = F.one_hot(ds.y_test, 10).numpy()
    assert row["test_mse"] == pytest.approx(float(((phi_t @ a - yt) ** 2).sum(1).mean()), rel=1e-6)
    assert row["test_error"] == pytest.approx(float(np.mean((phi_t @ a).argmax(1) != ds.y_test.numpy())))
