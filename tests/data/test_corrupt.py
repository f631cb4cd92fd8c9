"""Zhang et al.'s randomizations: exact fractions, permutation structure, noise statistics."""
import pytest
import torch

from dlscope import data as D


def _toy(n=1000, d=12, classes=10):
    # every coordinate of every image distinct, so a permutation can be read back exactly
    x = (torch.arange(n).view(-1, 1) * 1000 + torch.arange(d).view(1, -1)).float()
    y = torch.arange(n) % classes
    xt = x[:200] + 0.5
    return D.Dataset("toy", x, y, xt, y[:200].clone(), classes)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 1.0])
def test_random_labels_exact_fraction_and_uniform(p):
    ds = _toy()
    c = D.corrupt(ds, "random_labels", fraction=p, seed=1)
    changed_inputs = (c.x_train != ds.x_train).any()
    assert not changed_inputs
    # exactly round(p n) examples were redrawn; a redraw keeps the old label w.p. 1/C
    wrong = int((c.y_train != ds.y_train).sum())
    k = round(p * ds.n_train)
    assert wrong <= k
    if k:
        assert abs(wrong / k - 0.9) < 0.05
    assert torch.equal(c.y_test, ds.y_test)  # test labels stay clean unless asked
    if p:
        assert not torch.equal(D.corrupt(ds, "random_labels", fraction=p, seed=1, corrupt_test=True).y_test, ds.y_test)


def test_random_labels_uniform_over_classes():
    ds = _toy(n=20000)
    c = D.corrupt(ds, "random_labels", fraction=1.0, seed=0)
    counts = torch.bincount(c.y_train, minlength=10).double()
    chi2 = float(((counts - 2000) ** 2 / 2000).sum())
    assert chi2 < 27.9  # chi-square 9 dof, p = 0.001


def test_shuffled_pixels_same_permutation_for_all_images():
    ds = _toy()
    c = D.corrupt(ds, "shuffled_pixels", seed=2)
    perms = c.x_train - (torch.arange(ds.n_train) * 1000).view(-1, 1)
    assert torch.equal(perms, perms[:1].expand_as(perms))
    assert not torch.equal(perms[0], torch.arange(12).float())
    assert torch.equal(c.y_train, ds.y_train) and torch.equal(c.y_test, ds.y_test)
    pt = c.x_test - 0.5 - (torch.arange(200) * 1000).view(-1, 1)
    assert torch.equal(pt, perms[:200])  # by default the same permutation on the test set (Zhang et al.)
    assert torch.equal(D.corrupt(ds, "shuffled_pixels", seed=2, corrupt_test=False).x_test, ds.x_test)


def test_random_pixels_independent_permutations():
    ds = _toy()
    c = D.corrupt(ds, "random_pixels", seed=3)
    perms = c.x_train - (torch.arange(ds.n_train) * 1000).view(-1, 1)
    assert torch.equal(perms.sort(1).values, torch.arange(12).float().expand_as(perms))  # each row a permutation
    assert len({tuple(r.tolist()) for r in perms}) > 990  # almost all distinct (12! choices)


def test_gaussian_matches_mean_and_variance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 5, generator=g) * torch.tensor([1.0, 2, 3, 0.5, 1]) + torch.tensor([0.0, 1, -2, 5, 0])
    ds = D.Dataset("g", x, torch.zeros(20000, dtype=torch.long), x[:10], torch.zeros(10, dtype=torch.long), 2)
    c = D.corrupt(ds, "gaussian", seed=0)
    assert torch.allclose(c.x_train.mean(0), x.mean(0), atol=0.06)
    assert torch.allclose(c.x_train.std(0), x.std(0), rtol=0.03)
    assert (c.x_train - x).abs().mean() > 0.5  # really replaced


def test_partial_pixel_corruption_and_errors():
    ds = _toy()
    c = D.corrupt(ds, "random_pixels", fraction=0.3, seed=0)
    assert int((c.x_train != ds.x_train).any(1).sum()) <= 300
    assert int((c.x_train != ds.x_train).any(1).sum()) > 280
    with pytest.raises(ValueError, match="unknown corruption"):
        D.corrupt(ds, "noise")
    with pytest.raises(ValueError, match="fraction"):
        D.corrupt(ds, "random_labels", fraction=1.5)
    assert D.corrupt(ds, "random_labels", seed=5).hash == D.corrupt(ds, "random_labels", seed=5).hash


def test_random_labels_fraction_is_exact():
    # with 10^6 classes a redrawn label never collides with the old one (seeded), so the
    # number of changed labels is exactly round(p n)
    ds = _toy().replace(num_classes=10**6)
    for p in (0.1, 0.37, 0.8):
        c = D.corrupt(ds, "random_labels", fraction=p, seed=7)
        assert int((c.y_train != ds.y_train).sum()) == round(p * ds.n_train)
