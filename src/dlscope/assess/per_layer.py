"""``--per-layer``: each layer's Hessian block (top eigenvalue, trace) beside its weight norms.

The Hessian of the loss restricted to one layer's parameters, H_ll = ∂²L/∂θ_l² (the diagonal
block, :meth:`CurvatureOperator.block`), is what PyHessian users ask for layer by layer (Yao et
al. 2020): its top eigenvalue by Lanczos and its trace by Hutch++, or — for blocks of at most
``dense_block`` parameters — both exactly from the dense block (``stderr`` then ``None``). The
norms are those of :func:`~dlscope.measure.layer_norms` (the exact operator norm ‖A‖_σ of the
layer's map on its input shape, ‖W‖_F of the weight tensor), matched by module name; a model
the tracer does not support still gets its Hessian blocks, with the norms left out and the
reason recorded.
"""
from __future__ import annotations

import torch

from .. import measure as M
from ..report.figures import assess as figs
from .measures import Context

__all__ = ["per_layer"]


def _block_stats(block, ctx: Context) -> dict:
    n = block.shape[0]
    if n <= int(ctx.options["dense_block"]):
        ev = torch.linalg.eigvalsh(block.to_dense().double())
        return {"params": n, "lambda_max": float(ev[-1]), "lambda_max_err": 0.0, "trace": float(ev.sum()),
                "trace_stderr": None, "method": "dense"}
    top = M.top_eigenvalues(block, k=1, tol=ctx.options["lanczos_tol"], seed=ctx.seed)
    tr = M.trace(block, num_matvecs=int(ctx.options["layer_trace_matvecs"]), seed=ctx.seed)
    return {"params": n, "lambda_max": top.value[0], "lambda_max_err": top.extra["error_bounds"][0],
            "trace": float(tr.value), "trace_stderr": tr.stderr, "method": "lanczos + hutch++"}


def per_layer(ctx: Context) -> tuple[list[dict], dict]:
    """(rows, notes): one row per module with parameters, in the order the parameters are registered."""
    op = ctx.hessian()
    rows = []
    for name, params in op.layers().items():
        rows.append({"layer": name or "(top level)", **_block_stats(op.block(params), ctx)})
    notes = {"hessian": {k: op.settings[k] for k in ("kind", "mode", "dtype", "num_examples", "data_hash")
                         if k in op.settings}, "seed": ctx.seed}
    try:
        trace = M.trace_layers(ctx.model, ctx.input_shape, fold_bn=False)
        norms = {r["name"]: r for r in M.layer_norms(ctx.model, ctx.input_shape, trace=trace, seed=ctx.seed)}
    except ValueError as e:
        norms, notes["norms_refused"] = {}, " ".join(str(e).split())
    for r in rows:
        n = norms.get(r["layer"])
        r["op_norm"] = n["spec"] if n else None
        r["fro_norm"] = n["fro"] if n else None
    ctx.figures.append(("per_layer.png", figs.per_layer_bars(rows),
                        "Per layer: the top eigenvalue and the trace of the layer's Hessian block, and the operator "
                        "norm ‖A‖_σ of its linear map. Look for the layers where curvature concentrates and whether "
                        "it follows the weight norms."))
    return rows, notes
