"""Numbers and claims as a reader wants them: named values with a few significant digits, status in words."""
from __future__ import annotations

import json
import math

__all__ = ["fmt", "status_of", "STATUS_COLORS"]

STATUS_COLORS = {"held": "#1a7f37", "not held": "#cf222e", "not evaluable": "#9a6700"}


def _num(v: float) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.4g}"


def fmt(v, depth: int = 0) -> str:
    """A value for a table cell: floats to 4 significant digits, (mean, sd) pairs as "m ± sd",
    dicts as "name: value; …", nested structures compactly."""
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _num(v)
    if isinstance(v, bool) or v is None:
        return str(v).lower() if isinstance(v, bool) else "—"
    if isinstance(v, (list, tuple)):
        if len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) and depth > 0:
            return f"{_num(v[0])} ± {_num(v[1])}"
        if len(v) > 12:
            return "[" + ", ".join(fmt(x, depth + 1) for x in v[:12]) + f", … ({len(v)} values)]"
        return "[" + ", ".join(fmt(x, depth + 1) for x in v) + "]"
    if isinstance(v, dict):
        if depth > 2:
            return json.dumps(v)[:200]
        sep = "; " if depth == 0 else ", "
        inner = sep.join(f"{k}: {fmt(x, depth + 1)}" for k, x in v.items())
        return inner if depth == 0 else "{" + inner + "}"
    return str(v)


def status_of(claim: dict) -> str:
    """The claim's status in words (older summaries only have ``held``)."""
    if "status" in claim:
        return claim["status"]
    return "held" if claim.get("held") else "not held"
