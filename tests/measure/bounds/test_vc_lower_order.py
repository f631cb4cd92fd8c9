"""Issue 14 item 3: the BHLM lower bound Ω(pL log(p/L)) has no known constant; it is an order of
growth, not a value beside the upper bounds. Fails on d1e8aa0 (``piecewise_linear_lower_order``
was in the bounds, above the computed upper bound for every vc-bounds net)."""
import math

import pytest
from torch import nn

from dlscope import models
from dlscope.measure import vc_dimension_bounds
from dlscope.measure.bounds.vc import lower_order_growth


def test_no_lower_order_among_the_bound_values():
    net = models.build("mlp", input_shape=(40,), num_classes=10, widths=(512,))
    r = vc_dimension_bounds(net, (40,))
    assert all(k.endswith("_upper") for k in r.value), r.value.keys()
    order = r.extra["lower_bound_order"]
    assert "unspecified" in order["constant"] and "Thm 3" in order["source"]
    p, L = r.extra["p"], r.extra["L"]
    assert order["growth"]["ratio"] == pytest.approx(lower_order_growth(order["growth"]["p"], p, L))
    assert order["growth"]["ratio"][3] == pytest.approx(1.0)  # p′ = p


def test_growth_ratio_is_free_of_the_constant():
    p, L = 1000, 3
    g = lambda q: q * L * math.log2(q / L)  # noqa: E731
    got = lower_order_growth([500, 1000, 4000], p, L)
    assert got == pytest.approx([g(500) / g(1000), 1.0, g(4000) / g(1000)])
    with pytest.raises(ValueError):
        lower_order_growth([10], 3, 3)


def test_small_net_bounds_unchanged():
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 1))
    r = vc_dimension_bounds(net, (5,))
    p, k = 5 * 7 + 7 + 8, 8
    assert r.value["threshold_upper"] == pytest.approx(2 * p * math.log2(math.e * k))
