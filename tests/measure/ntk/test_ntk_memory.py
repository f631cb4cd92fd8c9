"""The blocked NTK stays within its memory budget on a net whose full Jacobian would not fit, and
gives the same kernel as the unblocked computation."""
import torch
from cases import jacobian_heavy

from dlscope.measure import PeakMemory, ntk


def test_tracker_counts_tensor_storage():
    with PeakMemory() as m:
        a = torch.empty(1000, 1000)            # 4 MB
        b = torch.empty(500, 1000)             # 2 MB
        del a
        c = b.view(-1)                          # a view: no new storage
    assert m.peak == 6_000_000 and m.current == 2_000_000 and c.numel() == 500_000


def test_peak_within_budget_when_the_jacobian_is_larger():
    model, x = jacobian_heavy()
    ref = ntk(model, x, output="full", memory_budget=2 ** 30)
    budget = 4 * 2 ** 20  # 4 MiB, against an 11.9 MB Jacobian
    for output in ("full", "trace"):
        r = ntk(model, x, output=output, memory_budget=budget)
        assert r.extra["jacobian_bytes"] > 2.5 * budget
        assert r.extra["peak_bytes"] <= budget, (output, r.extra)
        assert r.extra["blocks"][0] > 1
        want = ref.value if output == "full" else ref.value.diagonal(dim1=2, dim2=3).sum(-1)
        # float32 sums over 46.5k parameters in a different order: agreement to ~1e-6 relative
        assert torch.allclose(r.value, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))
    assert ref.extra["peak_bytes"] > ref.extra["jacobian_bytes"]  # the unblocked call did hold all of J
