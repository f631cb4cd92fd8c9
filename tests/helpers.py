"""Test helpers: model-state fingerprints, state an instrument must keep, and the report checks.

``state_fingerprint`` / ``fingerprint_equal`` compare everything an instrument must leave as it
found it (parameters, grads, buffers, modes) bit for bit; ``check_report`` is the one check of a
preset's run directory.
"""
from __future__ import annotations

import json

import torch
from torch import nn

def fingerprint_equal(a: dict, b: dict) -> bool:
    """Bit-identical comparison of two ``state_fingerprint`` dicts."""
    if a.keys() != b.keys():
        return False
    for k in a:
        u, v = a[k], b[k]
        if isinstance(u, torch.Tensor) or isinstance(v, torch.Tensor):
            if not (isinstance(u, torch.Tensor) and isinstance(v, torch.Tensor)) or u.dtype != v.dtype \
                    or u.shape != v.shape or not torch.equal(u, v):
                return False
        elif u != v:
            return False
    return True


def dirty(model: nn.Module) -> nn.Module:
    """Give every parameter a .grad and put the model in train mode (state an instrument must keep)."""
    model.train()
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.125)
    return model


def state_fingerprint(model: nn.Module) -> dict:
    """Everything :func:`dlscope.measure.preserved` restores, as a comparable dict."""
    out = {}
    for n, p in model.named_parameters():
        out["p:" + n] = p.detach().clone()
        out["g:" + n] = None if p.grad is None else p.grad.detach().clone()
    for n, b in model.named_buffers():
        out["b:" + n] = b.detach().clone()
    out["modes"] = tuple((n, m.training) for n, m in model.named_modules())
    return out


def assert_untouched(before: dict, model: nn.Module) -> None:
    after = state_fingerprint(model)
    assert fingerprint_equal(before, after), [k for k in before if not fingerprint_equal({k: before[k]}, {k: after[k]})]


KEYS = {"key", "claim", "source", "expected", "measured", "status", "kind", "reason", "held"}
STATUSES = {"held", "not held", "not evaluable"}


def check_report(out, summary) -> None:
    """Config, env, summary (equal to what run_preset returned), both reports with the figures
    inlined, every listed figure present, and claims with exactly the documented keys."""
    for f in ("config.json", "env.json", "summary.json", "report.md", "report.html", *summary["figures"]):
        assert (out / f).exists(), f
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]
    assert summary["figures"] and "data:image/png;base64" in (out / "report.html").read_text()
    assert summary["claims"] and all(set(c) == KEYS and c["status"] in STATUSES for c in summary["claims"])
    assert all(c["held"] == (None if c["status"] == "not evaluable" else c["status"] == "held") for c in summary["claims"])
    assert all(c["reason"] for c in summary["claims"] if c["status"] == "not evaluable")


def claim(summary: dict, key: str) -> dict:
    return next(c for c in summary["claims"] if c["key"] == key)


def run_quick(tmp_path_factory, name: str, **overrides):
    """Run preset ``name`` with --quick (and overrides) into a fresh folder; check its report; (out, summary)."""
    from dlscope.experiments import run_preset

    out = tmp_path_factory.mktemp(name)
    s = run_preset(name, quick=True, out=out, overrides=overrides or None)
    check_report(out, s)
    return out, s
