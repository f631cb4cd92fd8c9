"""Batched augmentation: bit-identical to the per-image reference, draw for draw, and in training."""
import pytest
import torch

from dlscope import data as D
from dlscope import models as M
from dlscope.train import TrainConfig, fit
from dlscope.train import loop as train_loop
from dlscope.train.augment import augment, augment_reference

SHAPES = [(16, 1, 28, 28), (33, 3, 32, 32), (5, 3, 9, 13), (1, 2, 4, 4),  # images (N, C, H, W); H, W < 9 too
          (64, 40), (7, 3), (9, 3, 17), (4, 1, 40)]                       # signals (N, L) and (N, C, L)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_batched_equals_reference_bit_for_bit(shape, seed):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 7))
    g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    a, b = augment(x, g1), augment_reference(x, g2)
    assert a.shape == b.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))  # bitwise, so ±0 would count as different
    # the same draws in the same order: both generators are left in the same state
    assert torch.equal(torch.randint(0, 2**30, (4,), generator=g1), torch.randint(0, 2**30, (4,), generator=g2))


def test_float64_other_ranks_and_what_it_does():
    x = torch.arange(2 * 1 * 3 * 3, dtype=torch.float64).reshape(2, 1, 3, 3)
    assert torch.equal(augment(x, torch.Generator().manual_seed(4)), augment_reference(x, torch.Generator().manual_seed(4)))
    flat = torch.randn(3, 2, 2, 2, 2)  # 5-D: left alone, no draw taken
    g = torch.Generator().manual_seed(0)
    assert augment(flat, g) is flat
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(0)))
    # a crop of a padded image: every output pixel is an input pixel or a zero from the padding
    img = torch.rand(50, 3, 8, 8) + 1
    out = augment(img, torch.Generator().manual_seed(1))
    assert set(out.unique().tolist()) <= set(img.unique().tolist()) | {0.0}
    assert (out == 0).any() and not (out == 0).all()


def _images(n, seed, c=3, hw=12):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    proto = torch.randn(10, c, hw, hw, generator=torch.Generator().manual_seed(123))
    x = 0.5 * proto[y] + torch.randn(n, c, hw, hw, generator=g)
    return D.Dataset("images", x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :], y[n * 3 // 4 :], 10)


@pytest.mark.parametrize("kind", ["images", "mnist1d"])
def test_training_with_augmentation_is_unchanged(kind, monkeypatch):
    """A run with augment=True gives the same metrics whether the loop uses the batched version or
    the per-image loop it replaced (the loop's code before this change), so results and resumes of
    runs started before the change are unaffected."""
    if kind == "images":
        ds, name, kw = _images(240, 0), "cnn", {"channels": (8, 8), "fc": (32,), "dropout": 0.2}
    else:
        ds, name, kw = D.load("mnist1d", n_train=200, n_test=100, seed=0), "mlp", {"widths": (32,), "dropout": 0.2}
    cfg = TrainConfig(max_steps=24, batch_size=32, lr=0.05, eval_every=8, seed=3, augment=True)

    def run():
        torch.manual_seed(0)
        return fit(M.build(name, input_shape=ds.input_shape, num_classes=10, **kw), ds, cfg).metrics

    batched = run()
    monkeypatch.setattr(train_loop, "augment", augment_reference)
    assert run() == batched
