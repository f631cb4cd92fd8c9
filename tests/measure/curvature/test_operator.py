"""The curvature operator against dense float64 Hessians / GGNs from torch.func."""
import numpy as np
import pytest
import torch
from torch import nn

from oracles import dense_ggn, dense_hessian
from cases import CASES, Case
from helpers import dirty, fingerprint_equal
from dlscope.measure import ggn, hessian
from helpers import state_fingerprint

F = nn.functional


class TiedResidual(nn.Module):
    """A model written here: a residual block whose weight is used twice, plus a free scalar."""

    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(4, 4, dtype=torch.float64) * 0.5)
        self.scale = nn.Parameter(torch.tensor(0.7, dtype=torch.float64))
        self.head = nn.Linear(4, 3).double()

    def forward(self, x):
        h = x + torch.tanh(x @ self.W)
        h = h + self.scale * torch.sin(h @ self.W.T)
        return self.head(h)


def tied_case(seed=0) -> Case:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.randn(17, 4, generator=g, dtype=torch.float64)
    return Case("tied", TiedResidual(), F.cross_entropy, x, torch.randint(0, 3, (17,), generator=g))


ALL = {**CASES, "tied": tied_case}


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("opts", [{}, {"reuse_graph": False}, {"vectorize": True}])
def test_hessian_matches_dense(name, opts):
    case = ALL[name]()
    H = dense_hessian(case)
    op = hessian(case.model, case.loss_fn, case.batches, **opts)
    assert op.shape == H.shape
    assert rel(op.to_dense(), H) <= 1e-8
    assert abs(op.loss - float(case.loss(case.flat()))) <= 1e-12
    g = torch.func.grad(case.loss)(case.flat())
    assert rel(op.gradient, g) <= 1e-10


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("opts", [{}, {"reuse_graph": False}, {"vectorize": True}])
def test_ggn_matches_dense(name, opts):
    case = ALL[name]()
    G = dense_ggn(case)
    op = ggn(case.model, case.loss_fn, case.batches, **opts)
    D = op.to_dense()
    assert rel(D, G) <= 1e-8
    assert np.linalg.eigvalsh(D.numpy()).min() >= -1e-10 * float(D.norm())  # PSD for convex losses


def test_unequal_batches_are_weighted_by_size():
    case = CASES["mlp"]()
    whole = hessian(case.model, case.loss_fn, (case.x, case.y)).to_dense()
    split = hessian(case.model, case.loss_fn, case.batches).to_dense()
    assert [len(b[1]) for b in case.batches] == [5, 7, 4]
    assert rel(split, whole) <= 1e-12
    # An iterator (read once) gives the same matrix.
    assert rel(hessian(case.model, case.loss_fn, iter(case.batches)).to_dense(), whole) <= 1e-12


def test_parameter_subset_and_layer_blocks_are_diagonal_blocks():
    case = ALL["tied"]()
    H = dense_hessian(case)
    names = case.names()
    sizes = [p.numel() for p in case.model.parameters()]
    offs = np.cumsum([0] + sizes)
    idx = {n: slice(int(offs[i]), int(offs[i + 1])) for i, n in enumerate(names)}
    sub = ["W", "head.bias"]
    rows = torch.cat([torch.arange(idx[n].start, idx[n].stop) for n in sub])
    op = hessian(case.model, case.loss_fn, case.batches, params=sub)
    assert rel(op.to_dense(), H[rows][:, rows]) <= 1e-8
    # Parameters themselves select the same block.
    op2 = hessian(case.model, case.loss_fn, case.batches, params=[case.model.head.bias, case.model.W])
    assert rel(op2.to_dense(), H[rows][:, rows]) <= 1e-8
    full = hessian(case.model, case.loss_fn, case.batches)
    assert full.layers() == {"": ["W", "scale"], "head": ["head.weight", "head.bias"]}
    hb = full.block(full.layers()["head"])
    r = torch.arange(idx["head.weight"].start, idx["head.bias"].stop)
    assert rel(hb.to_dense(), H[r][:, r]) <= 1e-8


def test_matmul_matmat_and_scipy():
    from scipy.sparse.linalg import eigsh

    case = CASES["cnn"]()
    H = dense_hessian(case)
    op = hessian(case.model, case.loss_fn, case.batches)
    V = torch.randn(H.shape[0], 3, dtype=torch.float64)
    assert rel(op @ V, H @ V) <= 1e-10
    assert rel(op @ V[:, 0], H @ V[:, 0]) <= 1e-10
    lo = op.to_scipy()
    v = np.random.default_rng(0).standard_normal(H.shape[0])
    assert np.allclose(lo.matvec(v), H.numpy() @ v, rtol=1e-10, atol=1e-12)
    top = eigsh(lo, k=1, which="LA", tol=1e-12)[0][0]
    assert abs(top - np.linalg.eigvalsh(H.numpy())[-1]) <= 1e-8 * abs(top)
    assert op.num_matvecs >= 4


def test_model_is_left_bit_identical():
    case = CASES["bn_net"]()
    dirty(case.model)
    before = state_fingerprint(case.model)
    for build in (hessian, ggn):
        op = build(case.model, case.loss_fn, case.batches)
        op @ torch.ones(op.shape[0], dtype=torch.float64)
        op.block(op.layers()["1"]) @ torch.ones(10, dtype=torch.float64)
    op = hessian(case.model, case.loss_fn, case.batches, mode="train", reuse_graph=False)
    op @ torch.ones(op.shape[0], dtype=torch.float64)
    assert fingerprint_equal(before, state_fingerprint(case.model))


def test_settings_record_mode_dtype_and_data():
    case = CASES["bn_net"]()
    case.model.train()
    s = hessian(case.model, case.loss_fn, case.batches).settings
    assert (s["kind"], s["mode"], s["bn_mode"], s["dtype"]) == ("hessian", "eval", "eval", "float64")
    assert s["num_examples"] == 15 and s["num_batches"] == 3 and s["num_params"] == 42
    s2 = hessian(case.model, case.loss_fn, (case.x, case.y), mode="train").settings
    assert s2["bn_mode"] == "train"
    assert s2["data_hash"] != s["data_hash"]  # same examples, different batching
    assert hessian(case.model, case.loss_fn, case.batches).settings["data_hash"] == s["data_hash"]
    x2 = case.x.clone()
    x2[0, 0] += 1e-9
    assert hessian(case.model, case.loss_fn, [(x2, case.y)]).settings["data_hash"] != s2["data_hash"]


def test_eval_mode_uses_running_statistics_not_batch_statistics():
    case = CASES["bn_net"]()
    H_eval = dense_hessian(case)  # dense reference uses eval mode
    op_train = hessian(case.model, case.loss_fn, (case.x, case.y), mode="train")
    assert rel(op_train.to_dense(), H_eval) > 1e-3
    assert rel(hessian(case.model, case.loss_fn, (case.x, case.y)).to_dense(), H_eval) <= 1e-8


def test_determinism_check_refuses_dropout():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Tanh(), nn.Linear(8, 2)).double()
    x, y = torch.randn(10, 4, dtype=torch.float64), torch.randint(0, 2, (10,))
    with pytest.raises(ValueError, match="not deterministic"):
        hessian(model, F.cross_entropy, (x, y), mode="train")
    with pytest.raises(ValueError, match="not deterministic"):
        ggn(model.train(), F.cross_entropy, (x, y), mode="as-is")
    op = hessian(model, F.cross_entropy, (x, y))  # eval mode: dropout off
    assert op.settings["dropout_mode"] == "eval" and model.training


def test_float32_model():
    case = CASES["mlp"]()
    H = dense_hessian(case)
    case.model.float()
    op = hessian(case.model, case.loss_fn, [(x.float(), y) for x, y in case.batches])
    assert op.dtype == torch.float32 and op.settings["dtype"] == "float32"
    assert rel(op.to_dense().double(), H) <= 1e-4
