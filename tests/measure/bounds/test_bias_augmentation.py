"""Issue 14 item 1: biases enter R_A and the margin bound through the augmentation [[W, b], [0, 1]].

Fails on d1e8aa0 (biases were dropped: R_A of the biased MLP was 2–4× smaller than by hand).
"""
import math

import pytest
import torch
from torch import nn

from dlscope.measure import fold_batchnorm, margins, normalized_margins, spectral_complexity, spectral_margin_bound
from cases import bn_net, biased_mlp, cnn
from oracles import augmented_matrices, dense_matrix, r_a_by_hand


def _zero_refs(mats):
    """M̃_i = [[0, 0], [0, 1]] (the constant row kept, as the augmented reference of M_i = 0)."""
    refs = [torch.zeros_like(a) for a in mats]
    for m in refs[:-1]:
        m[-1, -1] = 1.0
    return refs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_r_a_of_a_biased_mlp_equals_the_augmented_chain_by_hand(seed):
    case = biased_mlp(seed)
    lins = [m for m in case.model if isinstance(m, nn.Linear)]
    mats = augmented_matrices([m.weight.detach() for m in lins], [m.bias.detach() for m in lins])
    r = spectral_complexity(case.model, (3,))
    assert r.value == pytest.approx(r_a_by_hand(mats, [1.0, 1.0, 1.0], _zero_refs(mats)), rel=1e-10)
    assert r.extra["l1_variant"] == pytest.approx(r_a_by_hand(mats, [1.0] * 3, _zero_refs(mats), l1=True), rel=1e-10)
    assert r.settings["input_augmented"] is True and r.settings["covers_net"] is True
    assert r.settings["biases"].startswith("augmented")
    assert r.extra["max_width"] == 6  # 5 hidden units + the constant
    plain = spectral_complexity(case.model, (3,), biases="ignore")
    assert plain.settings["covers_net"] is False and plain.value < r.value


def test_reference_model_keeps_its_biases_in_the_reference_matrices():
    case, ref = biased_mlp(0), biased_mlp(1)
    lins = [m for m in case.model if isinstance(m, nn.Linear)]
    lins0 = [m for m in ref.model if isinstance(m, nn.Linear)]
    mats = augmented_matrices([m.weight.detach() for m in lins], [m.bias.detach() for m in lins])
    refs = augmented_matrices([m.weight.detach() for m in lins0], [m.bias.detach() for m in lins0])
    r = spectral_complexity(case.model, (3,), reference=ref.model)
    assert r.value == pytest.approx(r_a_by_hand(mats, [1.0] * 3, refs), rel=1e-10)
    assert spectral_complexity(case.model, (3,), reference=case.model).value == 0.0


def test_batchnorm_folding_produces_the_bias_it_shifts_by():
    case = bn_net()  # Linear → BatchNorm (running statistics) → Tanh → Linear
    net = case.model
    folded = fold_batchnorm(net[0], net[1].eval())  # W' = diag(s) W, b' = s(b − μ) + β
    mats = augmented_matrices([folded.weight.detach(), net[3].weight.detach()],
                              [folded.bias.detach(), net[3].bias.detach()])
    r = spectral_complexity(net, (3,))
    assert r.value == pytest.approx(r_a_by_hand(mats, [1.0, 1.0], _zero_refs(mats)), rel=1e-10)


def test_conv_offsets_and_norms_against_the_dense_affine_map():
    case = cnn()  # Conv2d(1, 2, 3) with bias → Softplus → Flatten → Linear
    net = case.model
    a1 = dense_matrix(net[0], (1, 5, 5))
    c1 = net[0](torch.zeros(1, 1, 5, 5, dtype=torch.float64)).detach().reshape(-1)
    mats = augmented_matrices([a1, net[3].weight.detach()], [c1, net[3].bias.detach()])
    r = spectral_complexity(net, (1, 5, 5))
    rows = r.extra["layers"]
    assert rows[0]["spec"] == pytest.approx(float(torch.linalg.svdvals(mats[0])[0]), rel=1e-8)
    assert rows[0]["l21_dist"] == pytest.approx(float(mats[0][:-1].norm(dim=1).sum()), rel=1e-10)
    assert r.value == pytest.approx(r_a_by_hand(mats, [1.0, 1.0], _zero_refs(mats)), rel=1e-8)
    # Softplus(0) = ln 2 ≠ 0: R_A is the formula, but Theorem 1.1 does not cover the net
    assert r.settings["nonzero_at_zero"] == ["1"]
    with pytest.raises(ValueError, match="σ\\(0\\) ≠ 0"):
        spectral_margin_bound(net, case.x, case.y, complexity=r)


def test_normalized_margins_and_bound_use_the_augmented_input_norm():
    case = biased_mlp(0)
    x, y = case.x, case.y
    r = spectral_complexity(case.model, (3,))
    x_aug = math.sqrt(float(x.pow(2).sum()) + len(x))
    nm = normalized_margins(case.model, x, y, complexity=r, norm="l21")
    assert torch.allclose(nm, margins(case.model, x, y) / (r.value * x_aug / len(x)), rtol=1e-12)
    b = spectral_margin_bound(case.model, x, y, complexity=r, gamma=0.5)
    assert b.extra["x_fro"] == pytest.approx(x_aug, rel=1e-12)
    assert b.settings["input_augmented"] is True


def test_no_bound_for_a_net_its_complexity_does_not_cover():
    case = biased_mlp(0)
    r = spectral_complexity(case.model, (3,), biases="ignore")
    with pytest.raises(ValueError, match="biases ignored"):
        spectral_margin_bound(case.model, case.x, case.y, complexity=r)
    with pytest.raises(ValueError, match="biases must be one of"):
        spectral_complexity(case.model, (3,), biases="drop")


def test_bias_free_chain_is_unchanged_by_the_augmentation():
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False)).double()
    a = spectral_complexity(net, (3,))
    assert a.settings["input_augmented"] is False and a.settings["biases"] == "none in the net"
    assert a.value == spectral_complexity(net, (3,), biases="ignore").value
