"""leroux-one-layer, --quick (≈ 12 s of one core): the continuations really train one layer each,
and the claims follow from the table."""
import pytest
import torch
from helpers import claim, run_quick
from oracles import mean_and_se

from dlscope import data as D
from dlscope import models as M
from dlscope.train import load_checkpoint


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "leroux-one-layer")


def _params(path):
    net = M.build("mlp", input_shape=(40,), num_classes=10, widths=(64, 64))
    load_checkpoint(path, net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9))
    return dict(net.named_parameters())


def test_each_continuation_moves_only_its_layer(quick):
    out, _ = quick
    start = _params(out / "runs/start_seed0/checkpoint.safetensors")
    for k, module in ((1, "net.1"), (3, "net.5")):
        end = _params(out / f"runs/layer{k}_seed0/checkpoint.safetensors")
        moved = sorted(n for n in start if not torch.equal(start[n], end[n]))
        assert moved == [f"{module}.bias", f"{module}.weight"]
    whole = _params(out / "runs/whole_seed0/checkpoint.safetensors")
    assert all(not torch.equal(start[n], whole[n]) for n in start)


def test_claims_follow_from_the_table(quick):
    _, s = quick
    rows = s["table"]
    red = {lab: mean_and_se([r["reduction"] for r in rows if r["trained"] == lab])[0]
           for lab in dict.fromkeys(r["trained"] for r in rows)}
    assert list(red) == ["layer 1", "layer 2", "layer 3 (last)", "whole net"]
    for r in rows:
        assert r["reduction"] == pytest.approx((r["start loss"] - r["end loss"]) / r["start loss"], abs=2e-4)
    c = claim(s, "last_only")
    assert c["held"] == all(red[k] < 0.25 * red["layer 3 (last)"] for k in ("layer 1", "layer 2"))
    assert claim(s, "whole_net")["held"] == all(red["whole net"] >= v for v in red.values())
    # the phenomenon on the quick runs seen: the whole net ≈ 0.75, each single layer 0.10–0.19
    assert red["whole net"] > 2 * max(v for k, v in red.items() if k != "whole net")
    assert all(v > 0 for v in red.values())
